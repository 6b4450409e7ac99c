/** decodeFrame (one frame, for renders) gives exactly the frame decodeFrames gives, per syntax. */
import { describe, expect, it } from "vitest";
import { readPart10 } from "../../../src/dicom/part10.js";
import { loadCodecs } from "../../../src/pixel/codecs.js";
import { decodeFrame, decodeFrames } from "../../../src/pixel/index.js";
import { corpusFile } from "../../helpers/corpus.js";

describe("decodeFrame", () => {
  it.each([
    ["us-multiframe-jpeg-baseline-ybr.dcm", 29],
    ["ct-enhanced-multiframe-jpeg-extended.dcm", 1],
    ["ct-enhanced-multiframe-jpeg-ls-near-lossless.dcm", 1],
    ["rtdose-rle-multiframe.dcm", 4],
    ["mr-enhanced-multiframe.dcm", 6],
    ["us-multiframe-acuson-implicit-large.dcm", 3],
  ])("%s frame index %i equals decodeFrames", async (file, index) => {
    const { dataset, transferSyntax } = readPart10(corpusFile(file));
    await loadCodecs(transferSyntax);
    const all = decodeFrames(dataset, transferSyntax);
    const one = decodeFrame(dataset, transferSyntax, index);
    expect(one.planar).toBe(all.planar);
    expect(Buffer.compare(Buffer.from(one.frame!), Buffer.from(all.frames[index]!))).toBe(0);
    expect(decodeFrame(dataset, transferSyntax, all.module.frames).frame).toBeUndefined();
  });
});
