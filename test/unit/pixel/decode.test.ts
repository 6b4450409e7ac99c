/**
 * Decode golden test: every native and RLE pixel-bearing corpus file decodes to the same samples as
 * dcmtk + pydicom (fixtures made by test/fixtures/pixel/make-ref.sh), frame by frame.
 */
import crypto from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { readPart10 } from "../../../src/dicom/part10.js";
import { decodeFrames } from "../../../src/pixel/index.js";
import { corpusFile, ROOT } from "../../helpers/corpus.js";

const golden = fs
  .readFileSync(path.join(ROOT, "test/fixtures/pixel/decode-sha256.txt"), "utf8")
  .trim()
  .split("\n")
  .map((line) => line.trim().split(/\s+/))
  .map(([name, ...hashes]) => ({ name: name!, hashes }));

describe("pixel decode equals dcmtk/pydicom", () => {
  it("covers BE, RLE (8 and 32-bit), palette, planar, signed, MONOCHROME1, deflated, multi-frame", () => {
    expect(golden.length).toBe(18);
  });
  for (const { name, hashes } of golden) {
    it(name, () => {
      const parsed = readPart10(corpusFile(`${name}.dcm`));
      const { frames } = decodeFrames(parsed.dataset, parsed.transferSyntax);
      expect(frames.map((f) => crypto.createHash("sha256").update(f).digest("hex"))).toEqual(hashes);
    });
  }
});
