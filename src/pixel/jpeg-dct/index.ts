/**
 * JPEG (Huffman, sequential DCT: baseline 1.2.840.10008.1.2.4.50 and extended 4.51) redaction in the
 * compressed domain: the quantised coefficients of every block an MCU-snapped box touches are set to
 * the fill, everything else is carried over bit for bit (no generation loss).
 *
 * Contract (the pipeline's verifier checks it with its own decoder):
 * - every pixel inside the requested boxes decodes to the fill ("black": the darkest value of the
 *   image's colour space, e.g. Y 0 / Cb Cr mid for YCbCr; "white": the brightest, for MONOCHROME1);
 * - every pixel outside `changed` decodes exactly as it did before (also with a decoder's fancy
 *   upsampling of subsampled chroma, which is why `changed` may be wider than the MCUs edited);
 * - anything the module cannot edit safely (progressive, arithmetic, lossless, hierarchical,
 *   malformed) throws PixelError, never returns a stream that was not edited.
 */
import type { Rect } from "../config.js";
import { PixelError } from "../errors.js";

export interface DctRedaction {
  /** The new JPEG stream. */
  readonly jpeg: Uint8Array;
  /** Where the decoded image may differ from the original: the boxes snapped outward, clipped to the frame. */
  readonly changed: readonly Rect[];
}

export function redactJpegBlocks(
  _jpeg: Uint8Array,
  _boxes: readonly Rect[],
  _fill: "black" | "white",
): DctRedaction {
  throw new PixelError("PIXEL_UNSUPPORTED_SYNTAX", "JPEG redaction in the DCT domain is not available yet");
}
