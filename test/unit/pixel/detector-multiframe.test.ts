/**
 * Multi-frame detection (pixel-notes section 5): frame 0 is detected whole, every other distinct
 * frame only inside the rectangles where the cine moves, exact duplicates once. Counted with the
 * detector's run and input-pixel counters, on the corpus cine (JPEG baseline, decoded by dcmdjpeg
 * here: our JPEG codec is not under test) and on a native cine built from a real US frame with a
 * moving region, its own static text and a label that appears mid-cine inside the moving region.
 */
import fs from "node:fs";
import path from "node:path";
import { createCanvas } from "@napi-rs/canvas";
import { describe, expect, it } from "vitest";
import { readPart10 } from "../../../src/dicom/part10.js";
import type { Rect } from "../../../src/pixel/config.js";
import { detectFrames, detectInstance } from "../../../src/pixel/detect-instance.js";
import * as detector from "../../../src/pixel/detector.js";
import type { RgbImage } from "../../../src/pixel/display.js";
import type { PixelModule } from "../../../src/pixel/module.js";
import { CORPUS_DIR } from "../../helpers/corpus.js";
import { corpusBytes, coverage, displayFrame } from "./detector-fixtures.js";
import "./detector-synthetic.js"; // registers the DejaVu fonts

const FULL_640x480 = 640 * 480;

function inside(b: Rect, r: Rect): boolean {
  return b[0] >= r[0] && b[1] >= r[1] && b[0] + b[2] <= r[0] + r[2] && b[1] + b[3] <= r[1] + r[3];
}

async function counted<T>(
  f: () => Promise<T>,
): Promise<{ value: T; runs: number; pixels: number; ms: number }> {
  const runs = detector.detectorRuns;
  const pixels = detector.detectorPixels;
  const t = performance.now();
  const value = await f();
  return {
    value,
    runs: detector.detectorRuns - runs,
    pixels: detector.detectorPixels - pixels,
    ms: performance.now() - t,
  };
}

/** 2x2 box downscale of an RGB image. */
function half(img: RgbImage): RgbImage {
  const width = img.width >> 1;
  const height = img.height >> 1;
  const data = new Uint8Array(width * height * 3);
  for (let y = 0; y < height; y++)
    for (let x = 0; x < width; x++)
      for (let c = 0; c < 3; c++) {
        const at = (yy: number, xx: number): number => img.data[(yy * img.width + xx) * 3 + c]!;
        data[(y * width + x) * 3 + c] = Math.round(
          (at(2 * y, 2 * x) + at(2 * y, 2 * x + 1) + at(2 * y + 1, 2 * x) + at(2 * y + 1, 2 * x + 1)) / 4,
        );
      }
  return { width, height, data };
}

/** Draws white text on an RGB frame in place; returns its ink box (alpha >= 64). */
function label(frame: Uint8Array, width: number, height: number, text: string, at: [number, number]): Rect {
  const canvas = createCanvas(width, height);
  const ctx = canvas.getContext("2d");
  ctx.font = "12px SynthSansBold";
  ctx.textBaseline = "top";
  ctx.fillStyle = "#fff";
  ctx.fillText(text, at[0], at[1]);
  const a = ctx.getImageData(0, 0, width, height).data;
  let x0 = width;
  let y0 = height;
  let x1 = -1;
  let y1 = -1;
  for (let i = 0; i < width * height; i++) {
    const alpha = a[4 * i + 3]!;
    if (alpha === 0) continue;
    for (let c = 0; c < 3; c++)
      frame[3 * i + c] = Math.round((frame[3 * i + c]! * (255 - alpha) + 255 * alpha) / 255);
    if (alpha >= 64) {
      const x = i % width;
      const y = (i - x) / width;
      x0 = Math.min(x0, x);
      y0 = Math.min(y0, y);
      x1 = Math.max(x1, x);
      y1 = Math.max(y1, y);
    }
  }
  return [x0, y0, x1 - x0 + 1, y1 - y0 + 1];
}

describe("multi-frame detection", { timeout: 120_000 }, () => {
  it("corpus cine us-multiframe-jpeg-baseline-ybr (30 frames, 28 distinct): frame 0 whole, the rest cropped", async () => {
    const parsed = readPart10(corpusBytes("us-multiframe-jpeg-baseline-ybr", "dcmdjpeg"));
    await detector.initDetector();
    const {
      value: boxes,
      runs,
      pixels,
      ms,
    } = await counted(() => detectInstance(parsed.dataset, parsed.transferSyntax));
    console.log(
      `cine 320x240x30: ${runs} runs, ${pixels} model pixels (whole frames: ${30 * FULL_640x480}), ${ms.toFixed(0)} ms`,
    );
    expect(boxes).toHaveLength(30);
    // 1 whole run + per distinct frame one run per moving rectangle (here: the sector and a small
    // indicator), never a whole frame again.
    expect((runs - 1) % 27).toBe(0);
    expect(runs).toBeLessThanOrEqual(1 + 27 * 2);
    expect(pixels).toBeLessThan(0.7 * 28 * FULL_640x480);
    // Static labels found on frame 0 hold on every frame.
    const first = boxes[0]!;
    expect(first.length).toBeGreaterThan(5);
    const topLeft = first.filter((b) => b[0] < 40 && b[1] < 40);
    expect(topLeft.length).toBeGreaterThan(0);
    for (const frame of boxes) for (const b of topLeft) expect(frame).toContainEqual(b);
  });

  it("us-multiframe-acuson (colour Doppler fills 89 % of the frame): every frame whole, 8 runs", async () => {
    const parsed = readPart10(
      fs.readFileSync(path.join(CORPUS_DIR, "us-multiframe-acuson-implicit-large.dcm")),
    );
    const { value, runs } = await counted(() => detectInstance(parsed.dataset, parsed.transferSyntax));
    expect(value).toHaveLength(8);
    expect(runs).toBe(8);
  });

  it("native 320x240 cine from a real US frame: moving region cropped, a label appearing mid-cine found, duplicates once", async () => {
    const epicard = fs.readFileSync(
      path.join(
        CORPUS_DIR,
        "../realworld/dcm4che_dcm4che__dcm4che-test-data_src_main_resources_US-RGB-8-epicard",
      ),
    );
    const base = half(displayFrame(epicard).img);
    const { width, height } = base;
    // Inside the sector: content shifting 4 px per frame (the anatomy moving).
    const moving: Rect = [110, 75, 100, 80];
    const frames: Uint8Array[] = [];
    let labelBox: Rect | undefined;
    for (let k = 0; k < 28; k++) {
      const f = Uint8Array.from(base.data);
      for (let y = moving[1]; y < moving[1] + moving[3]; y++)
        for (let x = moving[0]; x < moving[0] + moving[2]; x++) {
          const sx = moving[0] + ((x - moving[0] + 4 * k) % moving[2]);
          f.set(base.data.subarray((y * width + sx) * 3, (y * width + sx) * 3 + 3), (y * width + x) * 3);
        }
      if (k >= 12) labelBox = label(f, width, height, "DOE^JANE", [moving[0] + 20, moving[1] + 30]);
      frames.push(f);
    }
    frames.push(frames[27]!, frames[27]!); // exact duplicates
    const px: PixelModule = {
      rows: height,
      cols: width,
      spp: 3,
      bitsAllocated: 8,
      bitsStored: 8,
      signed: false,
      planar: 0,
      photometric: "RGB",
      frames: 30,
      fill: [0, 0, 0],
    };
    await detector.initDetector();
    const { value: boxes, runs, pixels, ms } = await counted(() => detectFrames(frames, px, 0));
    console.log(`native cine 320x240x30: ${runs} runs, ${pixels} model pixels, ${ms.toFixed(0)} ms`);
    expect(boxes).toHaveLength(30);
    // Frame 0 whole, then one cropped run for each of the 27 other distinct frames.
    expect(runs).toBe(28);
    expect(pixels).toBeLessThan(FULL_640x480 + 27 * 0.3 * FULL_640x480);
    // The label is there from frame 12 on and found on each of those frames.
    for (let k = 12; k < 30; k++)
      expect(coverage(labelBox!, boxes[k]!, height, width), `frame ${k}`).toBeGreaterThanOrEqual(0.9);
    // The frame's own static text (outside the moving region) is kept on every frame.
    const statics = boxes[0]!.filter(
      (b) => !inside(b, [moving[0] - 16, moving[1] - 16, moving[2] + 32, moving[3] + 32]),
    );
    expect(statics.length).toBeGreaterThan(5);
    for (const frame of boxes) for (const b of statics) expect(frame).toContainEqual(b);
    expect(boxes[29]).toBe(boxes[27]);
  });
});
