/**
 * Issue 9 item 12: work and memory per instance are bounded relative to its size: the inflated size of
 * a Deflated dataset by its deflated size, and the number of elements.
 */
import zlib from "node:zlib";
import { describe, expect, it } from "vitest";
import type { DataElement } from "../../../src/dicom/element.js";
import { MIN_INFLATE_ALLOWANCE, readPart10, writePart10 } from "../../../src/dicom/part10.js";
import { DEFAULT_MAX_ELEMENTS } from "../../../src/dicom/read-dataset.js";
import { transferSyntaxOf } from "../../../src/dicom/transfer-syntax.js";
import { instance, leaf, SC } from "../../helpers/build.js";
import { corpusFile } from "../../helpers/corpus.js";
import { anonymize } from "../../helpers/engine.js";

describe("bounds per instance", () => {
  it("refuses a deflated dataset that inflates past 64 MiB + 200 x its deflated size, under the absolute cap", () => {
    const file = instance([leaf(0x00100010, "PN", "X")], "1.2.840.10008.1.2.1.99");
    const metaEnd = 132 + 12 + file.readUInt32LE(132 + 8);
    const zeros = Buffer.alloc(MIN_INFLATE_ALLOWANCE + 32 * 1024 * 1024); // 96 MiB, deflates to ~100 KB
    const bomb = Buffer.concat([file.subarray(0, metaEnd), zlib.deflateRawSync(zeros)]);
    const limit = MIN_INFLATE_ALLOWANCE + 200 * (bomb.length - metaEnd);
    expect(limit).toBeLessThan(zeros.length);
    expect(() => readPart10(bomb)).toThrow(`deflated dataset inflates past ${limit} bytes`);
    // Both deflated files of the corpus pass with a wide margin.
    for (const name of ["sc-deflate.dcm", "waveform-hemodynamic-deflate.dcm"])
      expect(readPart10(corpusFile(name)).dataset.length).toBeGreaterThan(0);
  });

  // "Early" is guarded by the test's timeout, not a speed assertion (2M elements took 37 s before).
  it(
    `refuses more than ${DEFAULT_MAX_ELEMENTS} elements (2 bytes each, a few MB), early and with the reason`,
    { timeout: 30_000 },
    () => {
      const tiny: DataElement[] = [];
      const v = Buffer.from([1, 0]);
      for (let g = 0x0011; tiny.length <= DEFAULT_MAX_ELEMENTS; g += 2)
        for (let e = 0x1000; e <= 0xffff && tiny.length <= DEFAULT_MAX_ELEMENTS; e++)
          tiny.push({ tag: ((g << 16) | e) >>> 0, vr: "US", value: v, undefinedLength: false });
      const input = writePart10({
        dataset: [leaf(0x00080016, "UI", SC), leaf(0x00080018, "UI", "1.2.3"), ...tiny],
        transferSyntax: transferSyntaxOf("1.2.840.10008.1.2.1")!,
        sopClassUid: SC,
        sopInstanceUid: "1.2.3",
      });
      const outcome = anonymize(input, "hipaa");
      expect(outcome).toMatchObject({
        status: "failed",
        reason: `more than ${DEFAULT_MAX_ELEMENTS} elements: refused to bound work and memory`,
      });
    },
  );

  it("counts elements at every depth, and the cap can be set per read", () => {
    const file = corpusFile("rtplan-implicit-le.dcm");
    expect(() => readPart10(file, { maxElements: 20 })).toThrow(/more than 20 elements/);
    expect(readPart10(file, { maxElements: 100_000 }).dataset.length).toBeGreaterThan(20);
  });
});
