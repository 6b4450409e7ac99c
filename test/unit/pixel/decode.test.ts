/**
 * Decode golden test: every pixel-bearing corpus file the step handles (native, RLE, JPEG 4.50/4.51/
 * 4.57/4.70, JPEG-LS 4.80/4.81, JPEG 2000 4.90/4.91) decodes to the same samples as dcmtk, GDCM and
 * pydicom (fixtures made by test/fixtures/pixel/make-ref.sh), frame by frame.
 */
import crypto from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { readPart10 } from "../../../src/dicom/part10.js";
import { transferSyntaxOf } from "../../../src/dicom/transfer-syntax.js";
import { loadCodecs } from "../../../src/pixel/codecs.js";
import { decodeFrames } from "../../../src/pixel/index.js";
import { corpusFile, ROOT } from "../../helpers/corpus.js";

const golden = fs
  .readFileSync(path.join(ROOT, "test/fixtures/pixel/decode-sha256.txt"), "utf8")
  .trim()
  .split("\n")
  .map((line) => line.trim().split(/\s+/))
  .map(([name, ...hashes]) => ({ name: name!, hashes }));

describe("pixel decode equals dcmtk/GDCM/pydicom", () => {
  beforeAll(async () => {
    for (const uid of ["4.50", "4.80", "4.90"])
      await loadCodecs(transferSyntaxOf(`1.2.840.10008.1.2.${uid}`)!);
  });
  it("covers BE, RLE (8 and 32-bit), palette, planar, signed, MONOCHROME1, deflated, multi-frame, every compressed syntax", () => {
    expect(golden.length).toBe(31);
    const syntaxes = new Set(
      golden.map(({ name }) => readPart10(corpusFile(`${name}.dcm`)).transferSyntax.uid),
    );
    for (const s of ["4.50", "4.51", "4.57", "4.70", "4.80", "4.81", "4.90", "4.91"])
      expect(syntaxes).toContain(`1.2.840.10008.1.2.${s}`);
  });
  for (const { name, hashes } of golden) {
    it(name, () => {
      const parsed = readPart10(corpusFile(`${name}.dcm`));
      const { frames } = decodeFrames(parsed.dataset, parsed.transferSyntax);
      expect(frames.map((f) => crypto.createHash("sha256").update(f).digest("hex"))).toEqual(hashes);
    });
  }
});
