/** What every frame codec of src/pixel/codecs/ takes and returns. */

/** The layout of one decoded frame: little-endian samples, interleaved (colour-by-pixel). */
export interface FrameLayout {
  readonly rows: number;
  readonly cols: number;
  readonly spp: number;
  readonly bitsAllocated: number;
  readonly bitsStored: number;
  readonly signed: boolean;
  /** Photometric Interpretation of the decoded samples (e.g. RGB for a YCbCr JPEG). */
  readonly photometric: string;
}

export function frameBytes(l: FrameLayout): number {
  return l.rows * l.cols * l.spp * (l.bitsAllocated / 8);
}
