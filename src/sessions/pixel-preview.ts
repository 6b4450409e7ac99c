/**
 * The pixel step in a session preview: per instance the step ran on, every filled box per frame
 * (frame, x, y, width, height, source), as the engine's outcome carries them (the same boxes as the
 * audit's `cleanPixel` entries). Coordinates and sources only: never a value of the instance.
 */
import type { PixelBox } from "../pixel/index.js";
import type { UsRegions } from "../pixel/us-regions.js";
import type { InstanceOutcome } from "../engine/anonymize.js";

/** A filled box as the pixel step reports it. */
export type PreviewBox = PixelBox;

export interface PixelPreview {
  /** Instances the pixel step ran on (Burned In Annotation set to NO by it), in audit order. */
  readonly instances: ReadonlyArray<{
    readonly index: number;
    readonly sopInstanceUID?: string;
    /** Filled boxes, padded and clipped, sorted by frame; empty when the step found no text. */
    readonly boxes: readonly PreviewBox[];
    /**
     * The instance's US regions (0018,6011), where it has them: clipped to the frame, with counts of
     * regions clipped or dropped. Information only: text is searched and filled inside them too.
     */
    readonly usRegions?: UsRegions;
  }>;
}

/**
 * `outcomes` in the session's order (index = position), as the engine returned them: an anonymized
 * outcome carries `pixelBoxes` exactly when the pixel step ran on it.
 */
export function pixelPreview(
  outcomes: ReadonlyArray<InstanceOutcome>,
  regions: (index: number) => UsRegions | undefined = () => undefined,
): PixelPreview {
  const instances: Array<PixelPreview["instances"][number]> = [];
  outcomes.forEach((outcome, index) => {
    if (outcome.status !== "anonymized" || !outcome.pixelBoxes) return;
    const usRegions = regions(index);
    instances.push({
      index,
      sopInstanceUID: outcome.sopInstanceUID,
      boxes: [...outcome.pixelBoxes].sort((a, b) => a.frame - b.frame),
      ...(usRegions ? { usRegions } : {}),
    });
  });
  return { instances };
}
