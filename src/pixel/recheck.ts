/**
 * The re-check after redaction (issue 11: "decode what will be written and re-run detection"): a
 * guard against pipeline bugs (fill not applied, wrong frame, colour-space fill), and, with the
 * profile's `"recheck": "frame"`, a second pass for text the first one missed.
 *
 * - A detection on the written frames that lies mostly (> GUARD_SHARE of its area) inside the boxes
 *   that were filled means the fill did not take: PixelError PIXEL_VERIFY, the instance is refused.
 *   On correctly filled frames the largest share measured was 0.27 (20 synthetic + 2 corpus US
 *   frames, 15 re-detections); a box that was not filled at all gives ~1.
 * - "boxes" (the default): the guard only needs to look where boxes were filled, so detection runs
 *   on each filled box plus GUARD_MARGIN pixels (merged where they touch), cropped at the whole
 *   frame's model scale (as a cine's moving area is, src/pixel/detect-instance.ts). On the 1024x768
 *   Philips frame that is ~0.1 of a whole-frame run's model pixels. Detections in those crops outside
 *   every box (text next to a filled box) are filled in a second pass too.
 * - "frame": whole frames are detected again; detections outside the filled boxes are new text (or
 *   not: pixel-notes section 6 found 1 in 20 on leftover text): they are filled in a second pass
 *   from the original frames and audited with source "detector" like the first pass. Measured on
 *   the synthetic set: of 14 strings the first pass left under 90 % covered, the second pass covers
 *   2 (86 -> 88 of 100), at the price of 13 boxes on non-text over 22 frames and a second
 *   whole-frame detection (the step's time doubles). It is not evidence that the image is clean
 *   (the re-check fails on the same small, low-contrast text as the first pass).
 */
import crypto from "node:crypto";
import type { DataElement } from "../dicom/element.js";
import { PIXEL_DATA } from "../dicom/tag.js";
import type { TransferSyntax } from "../dicom/transfer-syntax.js";
import type { PixelConfig, Rect } from "./config.js";
import { loadCodecs } from "./codecs.js";
import { detectInstance, eachLimited } from "./detect-instance.js";
import { cropImage, localDetector, modelScale, type TextDetector } from "./detector.js";
import { toDisplay, voiOf } from "./display.js";
import { PixelError } from "./errors.js";
import { decodeFrames, type cleanPixelData, type PixelResult } from "./index.js";
import { overlapOrTouch, union } from "./motion.js";

/** Above this share of a re-detection's area inside filled boxes, the fill did not take. */
export const GUARD_SHARE = 0.5;

/** Pixels around each filled box that the "boxes" re-check detects on (text needs its context). */
export const GUARD_MARGIN = 16;

const area = (r: Rect): number => r[2] * r[3];
const overlap = (a: Rect, b: Rect): number =>
  Math.max(0, Math.min(a[0] + a[2], b[0] + b[2]) - Math.max(a[0], b[0])) *
  Math.max(0, Math.min(a[1] + a[3], b[1] + b[3]) - Math.max(a[1], b[1]));

/** Share of a merged guard region that neither of its parts covers, above which they stay apart. */
const WASTE = 0.25;

/**
 * Filled boxes padded by `margin`, clipped to the frame; two that overlap or touch are merged (text
 * is seen with its neighbours) unless more than WASTE of their union would be area neither covers:
 * a template's full-width bar and the labels under it would otherwise chain into one crop reaching a
 * cine's moving sector, detected again on every frame (pixel's sector cine: 8.9 M model pixels).
 * Overlapping crops are harmless: their detections are merged.
 */
export function guardRegions(
  boxes: readonly Rect[],
  width: number,
  height: number,
  margin = GUARD_MARGIN,
): Rect[] {
  const rects: Rect[] = boxes.map((b) => {
    const x0 = Math.max(0, b[0] - margin);
    const y0 = Math.max(0, b[1] - margin);
    return [x0, y0, Math.min(width, b[0] + b[2] + margin) - x0, Math.min(height, b[1] + b[3] + margin) - y0];
  });
  for (let merged = true; merged;) {
    merged = false;
    outer: for (let i = 0; i < rects.length; i++)
      for (let j = i + 1; j < rects.length; j++) {
        const a = rects[i]!;
        const b = rects[j]!;
        if (!overlapOrTouch(a, b)) continue;
        const u = union(a, b);
        if (area(u) - (area(a) + area(b) - overlap(a, b)) > WASTE * area(u)) continue;
        rects[i] = u;
        rects.splice(j, 1);
        merged = true;
        break outer;
      }
  }
  return rects.filter((r) => r[2] > 0 && r[3] > 0);
}

/**
 * Detections per frame inside the guard regions of each frame's filled boxes, at the whole frame's
 * model scale. A region is detected once for every frame where it shows the same display pixels (a
 * static bar's boxes in a cine whose sector moves): the model's input is that crop alone.
 */
async function detectAroundBoxes(
  ds: readonly DataElement[],
  ts: TransferSyntax,
  filled: readonly (readonly Rect[])[],
  detector: TextDetector,
): Promise<Rect[][]> {
  const { frames, planar, module: px } = decodeFrames(ds, ts);
  const voi = px.spp === 1 && !px.palette ? voiOf(ds, ts.encoding.littleEndian, px.signed) : undefined;
  const scale = modelScale(px.cols, px.rows);
  const done = new Map<string, Promise<Rect[]>>();
  const out: Rect[][] = frames.map(() => []);
  await eachLimited([...frames.keys()], detector.parallelism, async (f) => {
    const regions = guardRegions(filled[f] ?? [], px.cols, px.rows);
    if (regions.length === 0) return;
    const img = toDisplay(frames[f]!, px, planar, voi);
    const found = regions.map((r) => {
      const key = `${r.join()}:${crypto.createHash("sha1").update(cropImage(img, r).data).digest("hex")}`;
      let boxes = done.get(key);
      if (!boxes) {
        boxes = detector.detect(img, r, scale);
        done.set(key, boxes);
      }
      return boxes;
    });
    out[f] = (await Promise.all(found)).flat();
  });
  return out;
}

/** Share of `d`'s pixels inside the union of `boxes`. */
export function shareInside(d: Rect, boxes: readonly Rect[]): number {
  const near = boxes.filter(
    (b) => b[0] < d[0] + d[2] && d[0] < b[0] + b[2] && b[1] < d[1] + d[3] && d[1] < b[1] + b[3],
  );
  if (near.length === 0) return 0;
  let n = 0;
  for (let y = d[1]; y < d[1] + d[3]; y++)
    for (let x = d[0]; x < d[0] + d[2]; x++)
      if (near.some((b) => x >= b[0] && x < b[0] + b[2] && y >= b[1] && y < b[1] + b[3])) n++;
  return n / (d[2] * d[3]);
}

/**
 * What the step will write, as far as decoding it goes: the new Pixel Data, and (when the result
 * carries them: a transcoded lossy input) the attributes it replaces and the syntax it writes.
 */
function writtenDataset(
  ds: readonly DataElement[],
  ts: TransferSyntax,
  result: PixelResult,
): { ds: DataElement[]; ts: TransferSyntax } {
  const replaced = new Map<number, DataElement>([[PIXEL_DATA, result.element]]);
  for (const a of result.attributes ?? []) replaced.set(a.element.tag, a.element);
  return { ds: ds.map((e) => replaced.get(e.tag) ?? e), ts: result.transferSyntax ?? ts };
}

/**
 * Re-runs detection on what `result` would write (around the filled boxes, or on whole frames with
 * `config.recheck` "frame"). Throws PIXEL_VERIFY when text is still found
 * inside a filled box; returns `result`, or the result of a second pass (`clean` with the first
 * detections and the new ones) when text was found outside every box.
 */
export async function recheckRedaction(
  ds: readonly DataElement[],
  ts: TransferSyntax,
  config: PixelConfig,
  detected: readonly (readonly Rect[])[],
  result: PixelResult,
  clean: typeof cleanPixelData,
  detector: TextDetector = localDetector,
): Promise<PixelResult> {
  const written = writtenDataset(ds, ts, result);
  if (written.ts !== ts) await loadCodecs(written.ts);
  const filled: Rect[][] = detected.map((_, f) =>
    result.boxes.filter((b) => b.frame === f + 1).map((b) => [b.x, b.y, b.width, b.height] as const),
  );
  const again =
    config.recheck === "frame"
      ? await detectInstance(written.ds, written.ts, undefined, detector)
      : await detectAroundBoxes(written.ds, written.ts, filled, detector);
  const extra: Rect[][] = again.map(() => []);
  for (const [f, found] of again.entries()) {
    for (const d of found) {
      if (shareInside(d, filled[f] ?? []) > GUARD_SHARE)
        throw new PixelError(
          "PIXEL_VERIFY",
          `frame ${f + 1}: text is still detected inside a filled box after redaction`,
        );
      extra[f]!.push(d);
    }
  }
  if (extra.every((e) => e.length === 0)) return result;
  return clean(
    ds,
    ts,
    config,
    detected.map((boxes, f) => [...boxes, ...extra[f]!]),
  );
}
