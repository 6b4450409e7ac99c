/**
 * The whole Clean Pixel Data step of one instance, asynchronous: codecs loaded, text detected,
 * boxes filled, the result encoded and checked. The engine workers and the CLI run it before the
 * synchronous header pipeline, which then only swaps in the new Pixel Data element.
 */
import { readPart10, type ReadOptions } from "../dicom/part10.js";
import type { Plan } from "../engine/plan.js";
import { AnonymizerError } from "../errors.js";
import { loadCodecs } from "./codecs.js";
import { detectInstance } from "./detect-instance.js";
import { localDetector, type TextDetector } from "./detector.js";
import { PixelError } from "./errors.js";
import { cleanPixelData, decodeFrames, inPixelScope, type PixelResult } from "./index.js";
import { recheckRedaction } from "./recheck.js";

export type PixelStepOutcome =
  | { readonly status: "cleaned"; readonly result: PixelResult }
  | { readonly status: "refused"; readonly code: string; readonly reason: string };

/**
 * Undefined when the profile has no pixel step, the instance is out of its scope, or the input does
 * not parse (the header pipeline reports that failure itself).
 */
export async function runPixelStep(
  input: Buffer,
  plan: Plan,
  read?: ReadOptions,
  /** Where text is detected: this thread by default, the service's detector pool in its workers. */
  detector: TextDetector = localDetector,
): Promise<PixelStepOutcome | undefined> {
  const config = plan.pixel;
  if (!config) return undefined;
  let parsed;
  try {
    parsed = readPart10(input, read);
  } catch {
    return undefined;
  }
  if (!inPixelScope(parsed.dataset, config)) return undefined;
  try {
    await loadCodecs(parsed.transferSyntax);
    // Decoded once: the detector and the fill read the same frames.
    const decoded = config.detector ? decodeFrames(parsed.dataset, parsed.transferSyntax) : undefined;
    const detected = decoded
      ? await detectInstance(parsed.dataset, parsed.transferSyntax, decoded, detector)
      : undefined;
    let result = cleanPixelData(parsed.dataset, parsed.transferSyntax, config, detected, decoded);
    // Decode what will be written and detect again: a fill that did not take refuses the instance,
    // text found outside every box is filled in a second pass (src/pixel/recheck.ts).
    if (detected)
      result = await recheckRedaction(
        parsed.dataset,
        parsed.transferSyntax,
        config,
        detected,
        result,
        cleanPixelData,
        detector,
      );
    return { status: "cleaned", result };
  } catch (error) {
    if (error instanceof PixelError || error instanceof AnonymizerError)
      return { status: "refused", code: error.code, reason: error.message };
    // Not a message known to be free of values.
    return { status: "refused", code: "PIXEL_CODEC_ERROR", reason: "the pixel step failed unexpectedly" };
  }
}
