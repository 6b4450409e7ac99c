/**
 * Every public corpus file under both shipped profiles: de-identified or rejected with its reason;
 * outputs parse with dcmjs and dcmtk; the seed's HIPAA rules hold; an independent leak check (dcmjs,
 * not our reader) finds no identifying value of the input in the output.
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import type { DataElement } from "../../src/dicom/element.js";
import { readPart10, writePart10 } from "../../src/dicom/part10.js";
import { encodeValue } from "../../src/dicom/values.js";
import { tagHex } from "../../src/dicom/tag.js";
import { UidMapper } from "../../src/engine/uid-map.js";
import { CORPUS, corpusFile, EXPECTED_REJECTIONS } from "../helpers/corpus.js";
import { readWithDcmjs } from "../helpers/dicom.js";
import { anonymize, REGISTRY, SECRET } from "../helpers/engine.js";
import { dcmdumpAsDict, dcmjsCanRead, findLeaks } from "../helpers/leak-check.js";
import { requireTool, run } from "../helpers/tools.js";

const HAVE_DCMDUMP = requireTool("dcmdump", "dcmtk");
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "corpus-test-"));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

function elementsAtAnyDepth(elements: readonly DataElement[], out: DataElement[] = []): DataElement[] {
  for (const e of elements) {
    out.push(e);
    for (const item of e.items ?? []) elementsAtAnyDepth(item.elements, out);
  }
  return out;
}

const top = (elements: readonly DataElement[], tag: number) => elements.find((e) => e.tag === tag);
const bytesOf = (e: DataElement | undefined) => Buffer.from(e?.value ?? e?.fragments ?? new Uint8Array(0));

/** Clinical attributes that HIPAA leaves as they are (compared byte for byte). */
const CLINICAL_TAGS = [
  0x00080060, 0x00280010, 0x00280011, 0x00280030, 0x00281050, 0x00281051, 0x00200037, 0x00200032, 0x00180050,
  0x00281052, 0x00281053, 0x00100040, 0x00101020, 0x00101030, 0x00080005, 0x00280100, 0x00280004, 0x7fe00010,
];

for (const profile of ["basic", "hipaa"] as const) {
  describe(`corpus under ${profile}`, () => {
    it.each(CORPUS.map((c) => [c.file]))("%s", (file) => {
      const input = corpusFile(file);
      const outcome = anonymize(input, profile);
      const expected = EXPECTED_REJECTIONS[file];
      if (expected) {
        expect(outcome.status).toBe("failed");
        if (outcome.status === "failed") expect(outcome.reason).toMatch(expected);
        return;
      }
      if (outcome.status === "failed") throw new Error(`${file} failed: ${outcome.reason}`);
      const output = outcome.output;

      // Parses with dcmjs (independent; it cannot read ISO 2022 multi-set files or bare datasets, for
      // which dcmtk's dcmdump is the independent parser) and our reader.
      const out = dcmjsCanRead(input) ? readWithDcmjs(output) : dcmdumpAsDict(output);
      expect(out.meta["00020003"]?.Value?.[0]).toBe(outcome.sopInstanceUID);
      expect(out.dict["00080018"]?.Value?.[0]).toBe(outcome.sopInstanceUID);
      expect(out.meta["00020012"]?.Value?.[0]).toMatch(/^2\.25\./);
      expect(out.dict["00120062"]?.Value?.[0]).toBe("YES");
      expect(outcome.sopInstanceUID).toMatch(/^2\.25\.\d+$/);

      // Independent leak check (dcmjs / dcmtk, not our reader): no identifying value of the input,
      // at any depth, appears in the output.
      expect(findLeaks(input, output)).toEqual([]);

      // No private element survives, at any depth; removed attributes are gone at any depth.
      const ours = readPart10(output);
      const all = elementsAtAnyDepth(ours.dataset);
      expect(all.filter((e) => (e.tag >>> 16) % 2 === 1).map((e) => tagHex(e.tag))).toEqual([]);
      const goneEverywhere = profile === "hipaa" ? [0x00181000, 0x00080081] : [0x00080081];
      expect(all.filter((e) => goneEverywhere.includes(e.tag)).map((e) => tagHex(e.tag))).toEqual([]);

      // Fidelity: clinical values and pixel data byte for byte; the charset declaration untouched.
      const before = readPart10(input).dataset;
      for (const tag of profile === "hipaa"
        ? CLINICAL_TAGS
        : [0x00080060, 0x00280010, 0x00280011, 0x7fe00010, 0x00080005]) {
        expect(bytesOf(top(ours.dataset, tag)).equals(bytesOf(top(before, tag))), tagHex(tag)).toBe(true);
      }
      expect(ours.transferSyntax.uid).toBe(readPart10(input).transferSyntax.uid);

      if (profile === "hipaa") {
        const ageBefore = bytesOf(top(before, 0x00101010)).toString("latin1").trim();
        const ageAfter = bytesOf(top(ours.dataset, 0x00101010)).toString("latin1").trim();
        const m = /^(\d{3})Y$/.exec(ageBefore);
        if (m && Number(m[1]) >= 90) expect(ageAfter).toBe("089Y");
        else if (/^\d{3}[DWMY]$/.test(ageBefore)) expect(ageAfter).toBe(ageBefore);
        for (const e of all.filter((x) => x.vr === "DA"))
          expect(bytesOf(e).toString("latin1").trim()).toMatch(/^(\d{4}0101)?$/);
        for (const e of all.filter((x) => x.vr === "TM"))
          expect(bytesOf(e).toString("latin1").trim()).toMatch(/^(000000)?$/);
        expect(bytesOf(top(ours.dataset, 0x00100030)).length).toBe(0); // birth date: no value (Type 2 stays)
      }

      // Deterministic: the same input with the same secret gives the same bytes.
      const again = anonymize(input, profile, new UidMapper(SECRET));
      expect(again.status === "anonymized" && again.output.equals(output)).toBe(true);

      if (HAVE_DCMDUMP) {
        const target = path.join(tmp, `${profile}-${file}`);
        fs.writeFileSync(target, output);
        const r = run("dcmdump", ["-q", "+E", target]);
        expect(r.stderr, "dcmdump reported").toBe("");
        expect(r.status).toBe(0);
      }
    });
  });
}

describe("the independent leak check", () => {
  // The check itself must be able to fail: an engine output with a name, an ID and a date planted
  // in a kept description (by hand, after the engine) is reported for each of them.
  it.each([
    ["a name", "CompressedSamples^CT1", "PatientName"],
    ["an ID", "1CT1", "PatientID"],
    ["a date", "20040826", "StudyDate"],
  ])("catches %s planted in a kept description", (_what, planted, keyword) => {
    const input = corpusFile("ct-implicit-le-ge.dcm");
    const outcome = anonymize(input, "hipaa");
    if (outcome.status !== "anonymized") throw new Error(outcome.reason);
    expect(findLeaks(input, outcome.output)).toEqual([]);
    const parsed = readPart10(outcome.output);
    const description: DataElement = {
      tag: 0x0008103e,
      vr: "LO",
      value: encodeValue(`Axial ${planted} 5mm`, "LO"),
      undefinedLength: false,
    };
    const tampered = writePart10({
      dataset: [...parsed.dataset.filter((e) => e.tag !== 0x0008103e), description].sort(
        (x, y) => x.tag - y.tag,
      ),
      transferSyntax: parsed.transferSyntax,
      sopClassUid: outcome.sopClassUID,
      sopInstanceUid: outcome.sopInstanceUID,
    });
    expect(findLeaks(input, tampered).map((f) => f.keyword)).toContain(keyword);
  });

  it("catches an identifying value that a profile keeps", () => {
    const keepsName = REGISTRY.compileCustom({
      name: "keeps-name",
      description: "hipaa but the patient name is kept (a deliberately broken profile)",
      version: "0",
      extends: "hipaa",
      rules: [{ keyword: "PatientName", action: "keep" }],
    });
    const input = corpusFile("ct-implicit-le-ge.dcm");
    const outcome = anonymize(input, keepsName);
    expect(outcome.status).toBe("anonymized");
    if (outcome.status === "anonymized") {
      expect(findLeaks(input, outcome.output).map((f) => f.keyword)).toContain("PatientName");
    }
  });
});
