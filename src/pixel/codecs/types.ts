/** What every frame codec of src/pixel/codecs/ takes and returns. */
import type { PixelModule } from "../module.js";

/**
 * The layout of one decoded frame: little-endian samples, interleaved (colour-by-pixel); its
 * photometric interpretation is that of the decoded samples (e.g. RGB for a YCbCr JPEG).
 */
export type FrameLayout = Pick<
  PixelModule,
  "rows" | "cols" | "spp" | "bitsAllocated" | "bitsStored" | "signed" | "photometric"
>;

/**
 * The sample precision to encode with: Bits Stored, or more when an unsigned frame holds larger
 * values (a header whose Bits Stored is lower than the codestream's precision: encoding at Bits
 * Stored would lose the high bits, and the step would refuse a file the references read).
 */
export function precisionOf(raw: Uint8Array, l: FrameLayout): number {
  if (l.signed || l.bitsAllocated !== 16 || l.bitsStored >= 16) return l.bitsStored;
  let max = 0;
  for (let i = 1; i < raw.length; i += 2) if (raw[i]! > max) max = raw[i]!;
  const bits = max === 0 ? 0 : 8 + (32 - Math.clz32(max));
  return Math.max(l.bitsStored, bits);
}

export function frameBytes(l: FrameLayout): number {
  return l.rows * l.cols * l.spp * (l.bitsAllocated / 8);
}
