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
import { localDetector, modelScale, type TextDetector } from "./detector.js";
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

/** Runs `task` on every item, at most `limit` at once; rejects with the first failure. */
export async function eachLimited<T>(
  items: readonly T[],
  limit: number,
  task: (item: T) => Promise<void>,
): Promise<void> {
  let next = 0;
  const lane = async (): Promise<void> => {
    while (next < items.length) await task(items[next++]!);
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, lane));
}

/**
 * Text boxes per frame of decoded frames (little-endian samples, as decodeFrames returns them).
 * With a detector that runs elsewhere (the detector pool) up to its parallelism frames are in flight.
 */
export async function detectFrames(
  frames: readonly Uint8Array[],
  px: PixelModule,
  planar: 0 | 1,
  voi?: Voi,
  motion?: MotionOptions,
  detector: TextDetector = localDetector,
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
  // Frame 0 is detected while the motion range is measured.
  const boxes0 = detector.detect(first);
  boxes0.catch(() => undefined); // awaited below; not an unhandled rejection meanwhile
  if (distinct.length > 1) {
    // Monochrome frames display grey (R = G = B): one channel of range is enough.
    const range = new TemporalRange(px.cols, px.rows, px.spp === 1 && !px.palette ? 1 : 3);
    range.add(first);
    for (const i of distinct.slice(1)) range.add(display(frames[i]!));
    const regions = dynamicRegions(range.dynamicMask(motion?.threshold ?? 8), px.cols, px.rows, motion);
    const area = regions.reduce((a, r) => a + r[2] * r[3], 0);
    const whole = area > WHOLE_FRAME_SHARE * px.rows * px.cols;
    const scale = modelScale(px.cols, px.rows);
    await eachLimited(distinct.slice(1), detector.parallelism, async (i) => {
      const img = display(frames[i]!);
      const found = whole
        ? await detector.detect(img)
        : (await Promise.all(regions.map((r) => detector.detect(img, r, scale)))).flat();
      byFrame.set(i, found);
    });
    // Boxes of frame 0 wholly inside a moving rectangle belong to frame 0 only; the others hold for
    // every frame (their pixels do not change).
    if (!whole) {
      const fixed = (await boxes0).filter((b) => !regions.some((r) => inside(b, r)));
      for (const i of distinct.slice(1)) byFrame.set(i, [...fixed, ...byFrame.get(i)!]);
    }
  }
  byFrame.set(0, await boxes0);
  return keys.map((k) => byFrame.get(firstOf.get(k)!)!);
}

/** Text boxes per frame (of `decoded`, or decoded here). Throws PixelError when they cannot be decoded. */
export async function detectInstance(
  dataset: readonly DataElement[],
  ts: TransferSyntax,
  decoded: DecodedFrames = decodeFrames(dataset, ts),
  detector: TextDetector = localDetector,
): Promise<Rect[][]> {
  const { frames, planar, module: px } = decoded;
  const voi = px.spp === 1 && !px.palette ? voiOf(dataset, ts.encoding.littleEndian, px.signed) : undefined;
  return detectFrames(frames, px, planar, voi, undefined, detector);
}
