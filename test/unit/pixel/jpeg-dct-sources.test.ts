/**
 * The audit of a DCT-domain edit names, for each changed region, where its box came from: a frame
 * with a template box and a detector box lists one region of each (the corpus' JPEG baseline cine,
 * through the real redactor and decoders).
 */
import { beforeAll, describe, expect, it } from "vitest";
import { readPart10 } from "../../../src/dicom/part10.js";
import { loadCodecs } from "../../../src/pixel/codecs.js";
import type { Rect } from "../../../src/pixel/config.js";
import { cleanPixelData } from "../../../src/pixel/index.js";
import { configFor, corpusFile } from "./codecs-helpers.js";

const parsed = readPart10(corpusFile("us-multiframe-jpeg-baseline-ybr.dcm")); // 320x240, 30 frames
beforeAll(async () => loadCodecs(parsed.transferSyntax));

describe("DCT-domain edit audit sources", () => {
  it("a template box and a detector box in every frame: one region of each source per frame", () => {
    const template: Rect = [0, 0, 320, 16];
    const detected: Rect[][] = Array.from({ length: 30 }, () => [[100, 100, 40, 20]]);
    const result = cleanPixelData(
      parsed.dataset,
      parsed.transferSyntax,
      configFor(parsed.dataset, 240, 320, [template], "refuse"),
      detected,
    );
    expect(result.transferSyntax).toBeUndefined(); // edited in place, not transcoded
    for (let f = 1; f <= 30; f++) {
      const boxes = result.boxes.filter((b) => b.frame === f);
      expect(boxes.map((b) => b.source)).toEqual(["template", "detector"]);
      const [t, d] = boxes;
      expect(t!.y).toBe(0);
      expect(d!.x).toBeLessThanOrEqual(100 - 3); // padded detection, snapped outward to whole MCUs
      expect(d!.y).toBeGreaterThan(16);
    }
  });
});
