/** A decoded frame as an 8-bit RGB image (what a viewer shows, roughly): the text detector's input. */
import type { PixelModule } from "./module.js";

export interface RgbImage {
  readonly width: number;
  readonly height: number;
  /** width * height * 3 bytes, interleaved R, G, B. */
  readonly data: Uint8Array;
}

function sampleAt(f: Uint8Array, o: number, px: PixelModule): number {
  const bps = px.bitsAllocated / 8;
  let v = 0;
  for (let i = bps - 1; i >= 0; i--) v = v * 256 + f[o + i]!;
  const mask = 2 ** px.bitsStored;
  v %= mask;
  if (px.signed && v >= mask / 2) v -= mask;
  return v;
}

/** Monochrome: the frame's own min-max window (MONOCHROME1 inverted); colour: 8-bit samples as they are. */
export function toDisplay(frame: Uint8Array, px: PixelModule, planar: 0 | 1): RgbImage {
  const n = px.rows * px.cols;
  const bps = px.bitsAllocated / 8;
  const data = new Uint8Array(n * 3);
  if (px.spp === 1) {
    const values = new Float64Array(n);
    let lo = Infinity;
    let hi = -Infinity;
    for (let i = 0; i < n; i++) {
      const v = sampleAt(frame, i * bps, px);
      values[i] = v;
      if (v < lo) lo = v;
      if (v > hi) hi = v;
    }
    if (px.bitsStored > 8 && !px.palette) {
      // Wide monochrome data: a 0.5-99.5 percentile window, so padding values (e.g. -2000 around a
      // CT's circle) do not squeeze the anatomy into a few grey levels.
      const sorted = Float64Array.from(values).sort();
      lo = sorted[Math.floor(n * 0.005)]!;
      hi = sorted[Math.min(n - 1, Math.floor(n * 0.995))]!;
    }
    const pal = px.palette;
    const scale = hi > lo ? 255 / (hi - lo) : 0;
    for (let i = 0; i < n; i++) {
      if (pal) {
        const k = Math.min(Math.max(values[i]! - pal.first, 0), pal.rgb[0]!.length - 1);
        data[3 * i] = pal.rgb[0]![k]!;
        data[3 * i + 1] = pal.rgb[1]![k]!;
        data[3 * i + 2] = pal.rgb[2]![k]!;
        continue;
      }
      let g = Math.min(255, Math.max(0, Math.round((values[i]! - lo) * scale)));
      if (px.photometric === "MONOCHROME1") g = 255 - g;
      data[3 * i] = data[3 * i + 1] = data[3 * i + 2] = g;
    }
    return { width: px.cols, height: px.rows, data };
  }
  const shift = px.bitsStored > 8 ? px.bitsStored - 8 : 0;
  for (let i = 0; i < n; i++) {
    const c = [0, 1, 2].map((s) => sampleAt(frame, (planar ? s * n + i : 3 * i + s) * bps, px) >> shift);
    if (px.photometric === "YBR_FULL") {
      const [y, cb, cr] = c as [number, number, number];
      const clamp = (v: number): number => Math.min(255, Math.max(0, Math.round(v)));
      data[3 * i] = clamp(y + 1.402 * (cr - 128));
      data[3 * i + 1] = clamp(y - 0.344136 * (cb - 128) - 0.714136 * (cr - 128));
      data[3 * i + 2] = clamp(y + 1.772 * (cb - 128));
    } else {
      data[3 * i] = c[0]!;
      data[3 * i + 1] = c[1]!;
      data[3 * i + 2] = c[2]!;
    }
  }
  return { width: px.cols, height: px.rows, data };
}
