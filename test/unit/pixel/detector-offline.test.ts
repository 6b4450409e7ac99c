/**
 * The detector starts and runs with no network (a new network namespace: `unshare -n`, as root the
 * way CI runs) and writes nothing to the working directory: the model ships inside an npm package.
 * Runs the built code (dist/) in a child process.
 */
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { CORPUS_DIR, ROOT } from "../../helpers/corpus.js";

const DIST = path.join(ROOT, "dist/src/pixel/detect-instance.js");

describe("detector offline", { timeout: 120_000 }, () => {
  it("initialises and detects with the network unavailable, writing nothing to the working directory", () => {
    if (!fs.existsSync(DIST)) throw new Error(`${DIST} is missing: run "npm run build" first`);
    const cwd = fs.mkdtempSync(path.join(os.tmpdir(), "detector-offline-"));
    const script = `
      import fs from "node:fs";
      const { readPart10 } = await import(${JSON.stringify(path.join(ROOT, "dist/src/dicom/part10.js"))});
      const { detectInstance } = await import(${JSON.stringify(DIST)});
      const reachable = await fetch("https://registry.npmjs.org/").then(() => true, () => false);
      const parsed = readPart10(fs.readFileSync(${JSON.stringify(path.join(CORPUS_DIR, "us-burned-in-yes-philips-phi.dcm"))}));
      const boxes = await detectInstance(parsed.dataset, parsed.transferSyntax);
      console.log(JSON.stringify({ reachable, boxes: boxes[0].length }));
    `;
    const r = spawnSync("unshare", ["-n", process.execPath, "--input-type=module", "-e", script], {
      cwd,
      encoding: "utf8",
    });
    if (r.error || r.status !== 0)
      throw new Error(
        `unshare -n node failed (${r.status}; needs root and util-linux): ${String(r.error ?? "")}\n${r.stderr}`,
      );
    const out = JSON.parse(r.stdout.trim().split("\n").pop()!) as { reachable: boolean; boxes: number };
    expect(out.reachable).toBe(false);
    expect(out.boxes).toBeGreaterThan(10);
    expect(fs.readdirSync(cwd)).toEqual([]);
    fs.rmSync(cwd, { recursive: true });
  });
});
