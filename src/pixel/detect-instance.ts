/**
 * The detector over the frames of one instance, before the (synchronous) pipeline fills the boxes.
 * Exact duplicate frames are detected once. A multi-frame instance is detected once on frame 0
 * whole, and on every other distinct frame only inside the rectangles where the cine moves
 * (src/pixel/motion.ts), cropped at the whole frame's model scale; boxes of frame 0 outside those
 * rectangles hold for every frame (their pixels do not change).
 */
import crypto from "node:crypto";
import type { DataElement } from "../dicom/element.js";
import type { TransferSyntax } from "../dicom/transfer-syntax.js";
import type { Rect } from "./config.js";
import { detectText, modelScale } from "./detector.js";
import { toDisplay, voiOf, type RgbImage, type Voi } from "./display.js";
import { decodeFrames, type DecodedFrames } from "./index.js";
import type { PixelModule } from "./module.js";
import { dynamicRegions, TemporalRange, type MotionOptions } from "./motion.js";

/** Above this share of the frame, moving rectangles are not worth cropping: frames are detected whole. */
const WHOLE_FRAME_SHARE = 0.7;

function inside(box: Rect, region: Rect): boolean {
  return (
    box[0] >= region[0] &&
    box[1] >= region[1] &&
    box[0] + box[2] <= region[0] + region[2] &&
    box[1] + box[3] <= region[1] + region[3]
  );
}

/** Text boxes per frame of decoded frames (little-endian samples, as decodeFrames returns them). */
export async function detectFrames(
  frames: readonly Uint8Array[],
  px: PixelModule,
  planar: 0 | 1,
  voi?: Voi,
  motion?: MotionOptions,
): Promise<Rect[][]> {
  const display = (f: Uint8Array): RgbImage => toDisplay(f, px, planar, voi);
  const keys = frames.map((f) => crypto.createHash("sha1").update(f).digest("hex"));
  const firstOf = new Map<string, number>();
  keys.forEach((k, i) => firstOf.has(k) || firstOf.set(k, i));
  const distinct = [...firstOf.values()];
  const byFrame = new Map<number, Rect[]>();
  // Display images are made again for detection rather than kept: a long cine's RGB images would
  // triple the memory its decoded frames already take.
  const first = display(frames[0]!);
  const boxes0 = await detectText(first);
  byFrame.set(0, boxes0);
  if (distinct.length > 1) {
    const range = new TemporalRange(px.cols, px.rows);
    range.add(first);
    for (const i of distinct.slice(1)) range.add(display(frames[i]!));
    const regions = dynamicRegions(range.dynamicMask(motion?.threshold ?? 8), px.cols, px.rows, motion);
    const area = regions.reduce((a, r) => a + r[2] * r[3], 0);
    const whole = area > WHOLE_FRAME_SHARE * px.rows * px.cols;
    const scale = modelScale(px.cols, px.rows);
    // Boxes of frame 0 wholly inside a moving rectangle belong to frame 0 only; the others stay.
    const fixed = whole ? [] : boxes0.filter((b) => !regions.some((r) => inside(b, r)));
    for (const i of distinct.slice(1)) {
      const img = display(frames[i]!);
      if (whole) {
        byFrame.set(i, await detectText(img));
        continue;
      }
      const found: Rect[] = [...fixed];
      for (const r of regions) found.push(...(await detectText(img, r, scale)));
      byFrame.set(i, found);
    }
  }
  return keys.map((k) => byFrame.get(firstOf.get(k)!)!);
}

/** Text boxes per frame (of `decoded`, or decoded here). Throws PixelError when they cannot be decoded. */
export async function detectInstance(
  dataset: readonly DataElement[],
  ts: TransferSyntax,
  decoded: DecodedFrames = decodeFrames(dataset, ts),
): Promise<Rect[][]> {
  const { frames, planar, module: px } = decoded;
  const voi = px.spp === 1 && !px.palette ? voiOf(dataset, ts.encoding.littleEndian, px.signed) : undefined;
  return detectFrames(frames, px, planar, voi);
}
