/**
 * Decode golden test on the real-world corpus: every compressed pixel-bearing file the references
 * decode (JPEG 4.50/4.51/4.57/4.70, JPEG-LS, JPEG 2000, RLE, HTJ2K; fixtures made by
 * test/fixtures/pixel/make-ref-realworld.sh) decodes to the same samples, frame by frame; the files the
 * references cannot decode either, or whose frames contradict the header, are refused with a code.
 */
import crypto from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { readPart10 } from "../../../src/dicom/part10.js";
import { transferSyntaxOf } from "../../../src/dicom/transfer-syntax.js";
import { loadCodecs } from "../../../src/pixel/codecs.js";
import { decodeFrames } from "../../../src/pixel/index.js";
import { REALWORLD, ROOT } from "../../helpers/corpus.js";

const golden = fs
  .readFileSync(path.join(ROOT, "test/fixtures/pixel/decode-sha256-realworld.txt"), "utf8")
  .trim()
  .split("\n")
  .map((line) => line.trim().split(/\s+/))
  .map(([name, ...hashes]) => ({ name: name!, hashes }));

const fileOf = (name: string): Buffer => {
  const entry = REALWORLD.find((e) => e.file === name || e.file === `${name}.dcm`);
  if (!entry) throw new Error(`${name} is not in the real-world manifest`);
  return fs.readFileSync(entry.path);
};

beforeAll(async () => {
  for (const s of ["4.50", "4.80", "4.90", "4.201"])
    await loadCodecs(transferSyntaxOf(`1.2.840.10008.1.2.${s}`)!);
});

describe("real-world compressed files decode as dcmtk / GDCM / OpenJPH do", () => {
  it("covers every compressed syntax of the real-world corpus", () => {
    expect(golden.length).toBe(50);
    const syntaxes = new Set(golden.map(({ name }) => readPart10(fileOf(name)).transferSyntax.uid));
    for (const s of ["4.50", "4.51", "4.57", "4.70", "4.80", "4.81", "4.90", "4.91", "4.201", "5"])
      expect(syntaxes).toContain(`1.2.840.10008.1.2.${s}`);
  });
  for (const { name, hashes } of golden) {
    it(name, () => {
      const parsed = readPart10(fileOf(name));
      const { frames } = decodeFrames(parsed.dataset, parsed.transferSyntax);
      expect(frames.map((f) => crypto.createHash("sha256").update(f).digest("hex"))).toEqual(hashes);
    });
  }
});

describe("real-world files that cannot be decoded safely are refused with a code", () => {
  it.each([
    ["fo-dicom_fo-dicom__Tests_FO-DICOM.Tests_Test_Data_genFile", "PIXEL_CODEC_ERROR"], // zeros, not JPEG (dcmdjpeg fails too)
    ["pydicom_pylibjpeg-data__ljdata_ds_JPEG2000Lossless_966", "PIXEL_CODEC_ERROR"], // truncated codestream (GDCM fails too)
    ["pydicom_pydicom-data__data_store_data_liver_j2k", "PIXEL_UNSUPPORTED_BITS"], // 1-bit SEG
    ["pydicom_pydicom-data__data_store_data_liver_rle", "PIXEL_UNSUPPORTED_BITS"],
  ])("%s: %s", (name, code) => {
    const parsed = readPart10(fileOf(name));
    expect(() => decodeFrames(parsed.dataset, parsed.transferSyntax)).toThrow(
      expect.objectContaining({ code }),
    );
  });
});
