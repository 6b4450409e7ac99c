/**
 * The PP-OCRv4 text detector on the corpus ultrasound frames: every PHI box of
 * test/fixtures/pixel/corpus-boxes.json is covered (>= 90 % of its pixels under the padded
 * detections); false boxes on text-free frames are bounded (see below).
 */
import { describe, expect, it } from "vitest";
import { readPart10 } from "../../../src/dicom/part10.js";
import type { Rect } from "../../../src/pixel/config.js";
import { anonymizeInstance } from "../../../src/engine/anonymize.js";
import { UidMapper } from "../../../src/engine/uid-map.js";
import { detectInstance } from "../../../src/pixel/detect-instance.js";
import { runPixelStep } from "../../../src/pixel/step.js";
import * as detector from "../../../src/pixel/detector.js";
import { detectText } from "../../../src/pixel/detector.js";
import { decodeFrames } from "../../../src/pixel/index.js";
import { corpusFile } from "../../helpers/corpus.js";
import { REGISTRY, SECRET } from "../../helpers/engine.js";
import { BOXES, corpusBytes, coverage, displayFrame, NEGATIVES } from "./detector-fixtures.js";

async function detect(bytes: Buffer): Promise<{ boxes: Rect[]; rows: number; cols: number }> {
  const { img, px } = displayFrame(bytes);
  return { boxes: await detectText(img), rows: px.rows, cols: px.cols };
}

describe("PP-OCRv4 det on corpus frames", { timeout: 120_000 }, () => {
  for (const name of ["us-burned-in-yes-philips-phi", "us-philips-palette-rle"]) {
    it(`${name}: every PHI box covered`, async () => {
      const { boxes, rows, cols } = await detect(corpusFile(`${name}.dcm`));
      const all = BOXES[name]!.boxes;
      const phi = all.filter((b) => b[5] === 1);
      expect(phi.length).toBeGreaterThan(0);
      for (const b of phi)
        expect(coverage([b[0], b[1], b[2], b[3]], boxes, rows, cols), b[4]).toBeGreaterThanOrEqual(0.9);
    });
  }
  // The bar. Two things got the first cut (8 boxes on six of these frames, 10 with the header
  // windows) down: boxes are scored by the mean probability over their box (PaddleOCR's
  // box_score_fast), not over the component's own pixels (all > 0.3 by construction); and the grey
  // image is what a viewer shows (header VOI, padding left out of the percentile window).
  it("the 11 text-free CT/MR/MG/NM/DX/SC frames: at most 2 false boxes in all", async () => {
    let falseBoxes = 0;
    const perFile: Record<string, number> = {};
    for (const { name, decodeWith } of NEGATIVES) {
      const found = (await detect(corpusBytes(name, decodeWith))).boxes.length;
      perFile[name] = found;
      falseBoxes += found;
    }
    console.log(`false boxes on the 11 negatives: ${falseBoxes}`, perFile);
    expect(falseBoxes).toBeLessThanOrEqual(2);
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
