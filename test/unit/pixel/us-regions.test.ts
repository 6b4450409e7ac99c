/**
 * US regions (0018,6011) on the corpus ultrasound: read and checked against the frame; the SonoSite
 * cine's region exceeds its 320x240 frame and is clipped and counted, never refused.
 */
import { describe, expect, it } from "vitest";
import { readPart10 } from "../../../src/dicom/part10.js";
import { usRegions } from "../../../src/pixel/us-regions.js";
import { corpusFile } from "../../helpers/corpus.js";

const regionsOf = (name: string, rows: number, columns: number) =>
  usRegions(readPart10(corpusFile(name)).dataset, rows, columns);

describe("US regions", () => {
  it("Philips EPIQ: one region inside its 1024x768 frame (inclusive max coordinates)", () => {
    expect(regionsOf("us-burned-in-yes-philips-phi.dcm", 768, 1024)).toEqual({
      regions: [{ x: 14, y: 38, width: 997, height: 721 }],
      clipped: 0,
      dropped: 0,
    });
  });

  it("SonoSite cine: a region past its 320x240 frame is clipped and counted", () => {
    // dcmdump: Min X0 84, Min Y0 31, Max X1 595, Max Y1 414 on a 320x240 frame.
    expect(regionsOf("us-multiframe-jpeg-baseline-ybr.dcm", 240, 320)).toEqual({
      regions: [{ x: 84, y: 31, width: 236, height: 209 }],
      clipped: 1,
      dropped: 0,
    });
  });

  it("CX50: two regions, the first reaching x 800 (one past its last column) clipped; none elsewhere", () => {
    expect(regionsOf("us-philips-palette-rle.dcm", 600, 800)).toEqual({
      regions: [
        { x: 120, y: 60, width: 680, height: 459 },
        { x: 176, y: 522, width: 568, height: 55 },
      ],
      clipped: 1,
      dropped: 0,
    });
    expect(regionsOf("us-rgb-explicit-be.dcm", 60, 80)).toBeUndefined();
  });

  it("a region wholly outside the frame is dropped and counted, not refused", () => {
    expect(regionsOf("us-multiframe-jpeg-baseline-ybr.dcm", 20, 50)).toEqual({
      regions: [],
      clipped: 0,
      dropped: 1,
    });
  });
});
