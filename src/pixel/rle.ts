/**
 * DICOM RLE Lossless (PS3.5 Annex G): one frame <-> interleaved little-endian samples.
 * Segments hold one byte plane each: for every sample, its bytes most significant first.
 */
import { PixelError } from "./errors.js";

export interface RleLayout {
  readonly rows: number;
  readonly cols: number;
  readonly spp: number;
  /** Bytes per sample (BitsAllocated / 8). */
  readonly bps: number;
}

export function rleDecodeFrame(frame: Uint8Array, l: RleLayout): Uint8Array {
  const pixels = l.rows * l.cols;
  const nseg = l.spp * l.bps;
  if (frame.length < 64) throw new PixelError("PIXEL_CODEC_ERROR", "RLE frame shorter than its header");
  const view = new DataView(frame.buffer, frame.byteOffset, frame.byteLength);
  if (view.getUint32(0, true) !== nseg)
    throw new PixelError("PIXEL_CODEC_ERROR", "RLE segment count does not match the pixel module");
  const out = new Uint8Array(pixels * nseg);
  for (let s = 0; s < nseg; s++) {
    const start = view.getUint32(4 + 4 * s, true);
    const end = s + 1 < nseg ? view.getUint32(8 + 4 * s, true) : frame.length;
    if (start < 64 || end > frame.length || end < start)
      throw new PixelError("PIXEL_CODEC_ERROR", "RLE segment offset out of range");
    // Segment s: sample floor(s / bps), byte (bps - 1 - s % bps) of it (MSB first).
    const sample = Math.floor(s / l.bps);
    const byte = l.bps - 1 - (s % l.bps);
    const stride = nseg;
    let o = sample * l.bps + byte;
    let n = 0;
    let i = start;
    while (n < pixels && i < end) {
      const h = frame[i++]!;
      if (h < 128) {
        const count = h + 1;
        if (i + count > end || n + count > pixels)
          throw new PixelError("PIXEL_CODEC_ERROR", "RLE literal run overruns its segment");
        for (let k = 0; k < count; k++, n++, o += stride) out[o] = frame[i++]!;
      } else if (h > 128) {
        const count = 257 - h;
        if (i >= end || n + count > pixels)
          throw new PixelError("PIXEL_CODEC_ERROR", "RLE replicate run overruns its segment");
        const v = frame[i++]!;
        for (let k = 0; k < count; k++, n++, o += stride) out[o] = v;
      }
    }
    if (n !== pixels) throw new PixelError("PIXEL_CODEC_ERROR", "RLE segment decodes to too few pixels");
  }
  return out;
}

function encodeRow(src: Uint8Array, from: number, count: number, stride: number, out: number[]): void {
  let i = 0;
  const at = (k: number): number => src[from + k * stride]!;
  while (i < count) {
    // Replicate run of >= 2 equal bytes (Annex G: runs of 2 may be literal or replicate; both decode).
    let run = 1;
    while (i + run < count && run < 128 && at(i + run) === at(i)) run++;
    if (run >= 2) {
      out.push(257 - run, at(i));
      i += run;
      continue;
    }
    const lit = i;
    while (i < count && i - lit < 128 && !(i + 1 < count && at(i + 1) === at(i))) i++;
    if (i === lit) i++;
    out.push(i - lit - 1);
    for (let k = lit; k < i; k++) out.push(at(k));
  }
}

export function rleEncodeFrame(samples: Uint8Array, l: RleLayout): Uint8Array {
  const nseg = l.spp * l.bps;
  if (nseg > 15) throw new PixelError("PIXEL_CODEC_ERROR", "RLE holds at most 15 segments");
  const segments: Uint8Array[] = [];
  for (let s = 0; s < nseg; s++) {
    const sample = Math.floor(s / l.bps);
    const byte = l.bps - 1 - (s % l.bps);
    const out: number[] = [];
    for (let y = 0; y < l.rows; y++)
      encodeRow(samples, y * l.cols * nseg + sample * l.bps + byte, l.cols, nseg, out);
    if (out.length % 2) out.push(0x80); // no-op byte pads the segment to an even length
    segments.push(Uint8Array.from(out));
  }
  const total = 64 + segments.reduce((a, s) => a + s.length, 0);
  const frame = new Uint8Array(total);
  const view = new DataView(frame.buffer);
  view.setUint32(0, nseg, true);
  let offset = 64;
  segments.forEach((seg, s) => {
    view.setUint32(4 + 4 * s, offset, true);
    frame.set(seg, offset);
    offset += seg.length;
  });
  return frame;
}
