/**
 * Where a cine moves: the per-pixel temporal range of its display images, thresholded, grouped into
 * cells and rectangles. Text that stays put lies in the static part and is found once on frame 0;
 * every other frame is searched only inside these rectangles (pixel-notes section 5: labels and
 * measurements can appear mid-cine, so the moving area is cropped, never skipped).
 */
import type { Rect } from "./config.js";
import type { RgbImage } from "./display.js";

/**
 * Running per-channel minimum and maximum of a sequence of display images. `channels` 1 is for grey
 * images (R = G = B): only their first channel is tracked, a third of the work.
 */
export class TemporalRange {
  private readonly lo: Uint8Array;
  private readonly hi: Uint8Array;
  constructor(
    readonly width: number,
    readonly height: number,
    readonly channels: 1 | 3 = 3,
  ) {
    this.lo = new Uint8Array(width * height * channels).fill(255);
    this.hi = new Uint8Array(width * height * channels);
  }

  add(img: RgbImage): void {
    const { lo, hi } = this;
    const d = img.data;
    const step = 3 / this.channels;
    for (let i = 0, j = 0; i < lo.length; i++, j += step) {
      const v = d[j]!;
      if (v < lo[i]!) lo[i] = v;
      if (v > hi[i]!) hi[i] = v;
    }
  }

  /** Pixels whose range over the frames exceeds `threshold` grey levels in any channel. */
  dynamicMask(threshold: number): Uint8Array {
    const n = this.width * this.height;
    const c = this.channels;
    const mask = new Uint8Array(n);
    for (let i = 0; i < n; i++)
      for (let k = i * c; k < (i + 1) * c; k++)
        if (this.hi[k]! - this.lo[k]! > threshold) {
          mask[i] = 1;
          break;
        }
    return mask;
  }
}

export interface MotionOptions {
  /** Grey levels of change (JPEG noise stays below it: pixel-notes section 5 used 8). */
  readonly threshold?: number;
  /** Cell size in pixels: the mask is grouped in cells before rectangles are drawn. */
  readonly cell?: number;
  /** Pixels added around each rectangle (text at its edge is seen whole). */
  readonly margin?: number;
  /** More rectangles than this are merged into their bounding box (each is one detector run). */
  readonly maxRegions?: number;
}

export function overlapOrTouch(a: Rect, b: Rect): boolean {
  return a[0] <= b[0] + b[2] && b[0] <= a[0] + a[2] && a[1] <= b[1] + b[3] && b[1] <= a[1] + a[3];
}

export function union(a: Rect, b: Rect): Rect {
  const x0 = Math.min(a[0], b[0]);
  const y0 = Math.min(a[1], b[1]);
  return [x0, y0, Math.max(a[0] + a[2], b[0] + b[2]) - x0, Math.max(a[1] + a[3], b[1] + b[3]) - y0];
}

/** The bounding box of rectangles. */
export function boundingBox(rects: readonly Rect[]): Rect {
  return rects.reduce(union);
}

/**
 * Rectangles (clipped to the frame, non-overlapping after merging) covering every dynamic pixel of
 * `mask`; empty when nothing moves.
 */
export function dynamicRegions(
  mask: Uint8Array,
  width: number,
  height: number,
  options: MotionOptions = {},
): Rect[] {
  const cell = options.cell ?? 8;
  const margin = options.margin ?? 8;
  const maxRegions = options.maxRegions ?? 4;
  const cw = Math.ceil(width / cell);
  const chh = Math.ceil(height / cell);
  const cells = new Uint8Array(cw * chh);
  for (let y = 0; y < height; y++)
    for (let x = 0; x < width; x++)
      if (mask[y * width + x]) cells[((y / cell) | 0) * cw + ((x / cell) | 0)] = 1;
  // Components of dynamic cells, joining cells up to 2 cells apart.
  const seen = new Uint8Array(cw * chh);
  let rects: Rect[] = [];
  for (let start = 0; start < cells.length; start++) {
    if (!cells[start] || seen[start]) continue;
    let x0 = cw;
    let y0 = chh;
    let x1 = -1;
    let y1 = -1;
    const stack = [start];
    seen[start] = 1;
    while (stack.length) {
      const i = stack.pop()!;
      const x = i % cw;
      const y = (i - x) / cw;
      x0 = Math.min(x0, x);
      y0 = Math.min(y0, y);
      x1 = Math.max(x1, x);
      y1 = Math.max(y1, y);
      for (let ny = Math.max(0, y - 2); ny <= Math.min(chh - 1, y + 2); ny++)
        for (let nx = Math.max(0, x - 2); nx <= Math.min(cw - 1, x + 2); nx++) {
          const j = ny * cw + nx;
          if (cells[j] && !seen[j]) {
            seen[j] = 1;
            stack.push(j);
          }
        }
    }
    const px0 = Math.max(0, x0 * cell - margin);
    const py0 = Math.max(0, y0 * cell - margin);
    const px1 = Math.min(width, (x1 + 1) * cell + margin);
    const py1 = Math.min(height, (y1 + 1) * cell + margin);
    rects.push([px0, py0, px1 - px0, py1 - py0]);
  }
  // Merge rectangles that overlap (their margins may), until none do.
  for (let merged = true; merged;) {
    merged = false;
    outer: for (let i = 0; i < rects.length; i++)
      for (let j = i + 1; j < rects.length; j++)
        if (overlapOrTouch(rects[i]!, rects[j]!)) {
          rects[i] = union(rects[i]!, rects[j]!);
          rects.splice(j, 1);
          merged = true;
          break outer;
        }
  }
  if (rects.length > maxRegions) rects = [boundingBox(rects)];
  return rects;
}
