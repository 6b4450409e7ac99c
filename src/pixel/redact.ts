/** Filling boxes of a decoded frame (little-endian samples) with the photometric interpretation's black. */
import type { Rect } from "./config.js";
import type { PixelModule } from "./module.js";

/** Pads a box on every side and clips it to the frame; null when nothing of it is inside. */
export function padAndClip(r: Rect, pad: number, rows: number, cols: number): Rect | null {
  const x0 = Math.max(0, r[0] - pad);
  const y0 = Math.max(0, r[1] - pad);
  const x1 = Math.min(cols, r[0] + r[2] + pad);
  const y1 = Math.min(rows, r[1] + r[3] + pad);
  return x1 > x0 && y1 > y0 ? [x0, y0, x1 - x0, y1 - y0] : null;
}

/** The fill of each sample as the little-endian bytes of its container (signed values sign-extended). */
export function fillBytes(px: PixelModule): Uint8Array[] {
  const bps = px.bitsAllocated / 8;
  return px.fill.map((v) => {
    let u = v < 0 ? 2 ** px.bitsAllocated + v : v;
    const bytes = new Uint8Array(bps);
    for (let i = 0; i < bps; i++) {
      bytes[i] = u % 256;
      u = Math.floor(u / 256);
    }
    return bytes;
  });
}

function sampleOffset(px: PixelModule, planar: 0 | 1, x: number, y: number, s: number): number {
  const bps = px.bitsAllocated / 8;
  return planar ? (s * px.rows * px.cols + y * px.cols + x) * bps : ((y * px.cols + x) * px.spp + s) * bps;
}

/** Fills every box in place. */
export function fillBoxes(frame: Uint8Array, px: PixelModule, planar: 0 | 1, boxes: readonly Rect[]): void {
  const fills = fillBytes(px);
  for (const [bx, by, bw, bh] of boxes)
    for (let y = by; y < by + bh; y++)
      for (let x = bx; x < bx + bw; x++)
        for (let s = 0; s < px.spp; s++) frame.set(fills[s]!, sampleOffset(px, planar, x, y, s));
}

/** True when every sample of every box holds the fill. */
export function boxesHoldFill(
  frame: Uint8Array,
  px: PixelModule,
  planar: 0 | 1,
  boxes: readonly Rect[],
): boolean {
  const fills = fillBytes(px);
  for (const [bx, by, bw, bh] of boxes)
    for (let y = by; y < by + bh; y++)
      for (let x = bx; x < bx + bw; x++)
        for (let s = 0; s < px.spp; s++) {
          const o = sampleOffset(px, planar, x, y, s);
          const f = fills[s]!;
          for (let i = 0; i < f.length; i++) if (frame[o + i] !== f[i]) return false;
        }
  return true;
}
