import { AnonymizerError } from "../errors.js";

/**
 * The pixel step refused an instance. Codes (all PIXEL_*): UNSUPPORTED_SYNTAX, UNSUPPORTED_PHOTOMETRIC,
 * UNSUPPORTED_BITS, MODULE (missing or inconsistent Image Pixel attributes), DATA_LENGTH, CODEC_ERROR,
 * TEMPLATE_OUT_OF_FRAME, NO_TEXT_FINDER, VERIFY (the re-decoded output does not hold the fill),
 * LOSSY_REFUSED (a lossy JPEG the DCT-domain redactor cannot edit, under `lossy: "refuse"`).
 * Messages name attributes and counts, never values.
 */
export class PixelError extends AnonymizerError {}
