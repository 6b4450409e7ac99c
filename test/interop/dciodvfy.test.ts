/**
 * IOD conformance, judged by dicom3tools' dciodvfy (a validator we did not write): de-identification
 * adds no error that the input did not already have, except those a profile's rules require on
 * purpose (hipaa removes Device Serial Number entirely, as its seed rule says, even where an IOD makes
 * it Type 1).
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { CORPUS, corpusFile, EXPECTED_REJECTIONS } from "../helpers/corpus.js";
import { anonymized } from "../helpers/engine.js";
import { requireTool, run } from "../helpers/tools.js";

const HAVE = requireTool("dciodvfy", "dicom3tools");
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "dciodvfy-"));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

const ALLOWED: Record<string, RegExp[]> = {
  basic: [],
  hipaa: [/Missing attribute Type # Required Element=<DeviceSerialNumber>/], // digits are normalised to #
};

/** dciodvfy's errors, with values (UIDs, numbers) normalised so before/after compare. */
function errors(file: string): { status: number; errors: Set<string> } {
  const r = run("dciodvfy", [file]);
  const lines = (r.stdout + r.stderr).split("\n").filter((l) => l.startsWith("Error"));
  return { status: r.status, errors: new Set(lines.map((l) => l.replace(/[0-9][0-9.]*/g, "#"))) };
}

// dciodvfy itself aborts on this input (an IS value "1A"), before and after.
const VALIDATOR_CRASHES = new Set(["malformed-invalid-is-value.dcm"]);
const files = CORPUS.filter((c) => !EXPECTED_REJECTIONS[c.file] && !VALIDATOR_CRASHES.has(c.file)).map(
  (c) => c.file,
);

for (const profile of ["basic", "hipaa"]) {
  describe.runIf(HAVE)(`dciodvfy under ${profile}`, () => {
    it.each(files.map((f) => [f]))("%s adds no IOD error", (file) => {
      const input = path.join(tmp, `in-${profile}-${file}`);
      const output = path.join(tmp, `out-${profile}-${file}`);
      fs.writeFileSync(input, corpusFile(file));
      fs.writeFileSync(output, anonymized(corpusFile(file), profile).output);
      const before = errors(input);
      const after = errors(output);
      expect(after.status, "dciodvfy ran").toBeLessThanOrEqual(1);
      const added = [...after.errors].filter(
        (e) => !before.errors.has(e) && !ALLOWED[profile]!.some((a) => a.test(e)),
      );
      expect(added).toEqual([]);
    });
  });
}
