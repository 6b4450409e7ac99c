/**
 * The block edit: which MCUs the boxes touch, the quantised DC that decodes to the fill, and where the
 * decoded image may change.
 *
 * Geometry. The edit unit is the MCU of the frame (8·Hmax × 8·Vmax pixels), or one 8×8 block for a
 * single-component frame. Before snapping, a box grows by one chroma sample (Hmax/h pixels) on each side
 * when a component is subsampled: libjpeg's "fancy" upsampling blends each output pixel from its own
 * chroma sample and the next one out (¾ + ¼), so a pixel at the box edge would take a tint from an
 * unedited neighbour. The decoded image changes in the edited units and, for the same reason, in a margin
 * of (Hmax/h − 1) pixels around them (1 pixel for 2:1 subsampling), clipped to the frame.
 *
 * Fill. A block with only a DC coefficient decodes (every IDCT) to the constant D/8 + 2^(P−1), D the
 * dequantised DC, clamped to 0..2^P−1; libjpeg wraps values past ±4·2^(P−1) (range_limit with a mask),
 * so the DC is the smallest step past the limit and is checked to stay well inside the wrap.
 */
import type { Rect } from "../config.js";
import { PixelError } from "../errors.js";
import type { Frame } from "./syntax.js";

export type Level = "min" | "max" | "mid";

/** The quantised DC whose decoded constant is the level's extreme (or the mid value) of P-bit samples. */
export function fillDc(precision: 8 | 12, q0: number, level: Level): number {
  if (level === "mid") return 0;
  const center = precision === 8 ? 128 : 2048;
  const dc = level === "min" ? -Math.ceil((8 * center) / q0) : Math.ceil((8 * (center - 1)) / q0);
  if (Math.abs(dc * q0) > 8 * 3 * center)
    throw new PixelError("PIXEL_UNSUPPORTED_SYNTAX", "JPEG DC quantiser is too coarse for a solid fill");
  return dc;
}

export interface EditPlan {
  /** One flag per edit unit, row by row: 1 = every block of the unit gets the fill. */
  readonly marked: Uint8Array;
  readonly gridW: number;
  readonly gridH: number;
  readonly unitW: number;
  readonly unitH: number;
  readonly changed: Rect[];
  /** For each changed rectangle, the index of the (first) box it was changed for. */
  readonly changedFor: number[];
}

export function planEdit(frame: Frame, boxes: readonly Rect[]): EditPlan {
  const single = frame.comps.length === 1;
  const unitW = single ? 8 : 8 * frame.hmax;
  const unitH = single ? 8 : 8 * frame.vmax;
  const gridW = single ? frame.comps[0]!.niW : frame.mcusX;
  const gridH = single ? frame.comps[0]!.niH : frame.mcusY;
  // Chroma spread per axis, in pixels: the largest subsampling ratio (1 = none).
  const rx = single ? 1 : Math.max(...frame.comps.map((c) => frame.hmax / c.h));
  const ry = single ? 1 : Math.max(...frame.comps.map((c) => frame.vmax / c.v));
  const growX = rx > 1 ? rx : 0;
  const growY = ry > 1 ? ry : 0;
  const marked = new Uint8Array(gridW * gridH);
  const changed: Rect[] = [];
  const changedFor: number[] = [];
  const seen = new Set<string>();
  const W = frame.width;
  const H = frame.height;
  for (const [index, box] of boxes.entries()) {
    const [bx, by, bw, bh] = box;
    if (![bx, by, bw, bh].every(Number.isFinite))
      throw new PixelError("PIXEL_MODULE", "box is not a finite rectangle");
    const x0 = Math.max(0, Math.floor(bx));
    const y0 = Math.max(0, Math.floor(by));
    const x1 = Math.min(W, Math.ceil(bx + bw));
    const y1 = Math.min(H, Math.ceil(by + bh));
    if (x1 <= x0 || y1 <= y0) continue;
    const ux0 = Math.floor(Math.max(0, x0 - growX) / unitW);
    const uy0 = Math.floor(Math.max(0, y0 - growY) / unitH);
    const ux1 = Math.floor((Math.min(W, x1 + growX) - 1) / unitW);
    const uy1 = Math.floor((Math.min(H, y1 + growY) - 1) / unitH);
    for (let uy = uy0; uy <= uy1; uy++) marked.fill(1, uy * gridW + ux0, uy * gridW + ux1 + 1);
    const cx0 = Math.max(0, ux0 * unitW - (rx - 1));
    const cy0 = Math.max(0, uy0 * unitH - (ry - 1));
    const cx1 = Math.min(W, (ux1 + 1) * unitW + (rx - 1));
    const cy1 = Math.min(H, (uy1 + 1) * unitH + (ry - 1));
    const rect: Rect = [cx0, cy0, cx1 - cx0, cy1 - cy0];
    if (!seen.has(rect.join())) {
      seen.add(rect.join());
      changed.push(rect);
      changedFor.push(index);
    }
  }
  return { marked, gridW, gridH, unitW, unitH, changed, changedFor };
}

/** Sets every block of every marked unit to DC = fill[component], AC = 0 (no last non-zero AC). */
export function applyEdit(
  frame: Frame,
  plan: EditPlan,
  coefs: readonly Int16Array[],
  ends: readonly Uint8Array[],
  fill: readonly number[],
): void {
  const single = frame.comps.length === 1;
  for (let uy = 0; uy < plan.gridH; uy++)
    for (let ux = 0; ux < plan.gridW; ux++) {
      if (plan.marked[uy * plan.gridW + ux] === 0) continue;
      frame.comps.forEach((c, ci) => {
        const q = coefs[ci]!;
        const h = single ? 1 : c.h;
        const v = single ? 1 : c.v;
        for (let y = 0; y < v; y++)
          for (let x = 0; x < h; x++) {
            const o = ((uy * v + y) * c.bw + ux * h + x) * 64;
            q.fill(0, o, o + 64);
            q[o] = fill[ci]!;
            ends[ci]![o >> 6] = 0;
          }
      });
    }
}
