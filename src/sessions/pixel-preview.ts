/**
 * The pixel step in a session preview: per instance the step ran on, every filled box per frame
 * (frame, x, y, width, height, source), taken from the audit's `cleanPixel` entries
 * ("frame F x X y Y width W height H source S", written by src/engine/anonymize.ts). Coordinates
 * and sources only: never a value of the instance.
 */
import type { PixelBox } from "../pixel/index.js";
import type { UsRegions } from "../pixel/us-regions.js";
import type { Audit } from "../respond/audit.js";

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

const BOX = /^frame (\d+) x (\d+) y (\d+) width (\d+) height (\d+) source (template|detector)$/;
const STEP_RAN = "the Clean Pixel Data step ran";

export function pixelPreview(
  audit: Audit,
  regions: (index: number) => UsRegions | undefined = () => undefined,
): PixelPreview {
  const instances: Array<PixelPreview["instances"][number]> = [];
  for (const instance of audit.instances) {
    if (instance.status !== "anonymized") continue;
    let ran = false;
    const boxes: PreviewBox[] = [];
    for (const c of instance.changes) {
      if (c.keyword === "BurnedInAnnotation" && c.reason === STEP_RAN) ran = true;
      if (c.action !== "cleanPixel") continue;
      ran = true;
      const m = BOX.exec(c.after ?? "");
      // The engine writes only this form; anything else is a bug that must not pass as "no boxes".
      if (!m) throw new Error("a cleanPixel audit entry is not in the expected form");
      boxes.push({
        frame: +m[1]!,
        x: +m[2]!,
        y: +m[3]!,
        width: +m[4]!,
        height: +m[5]!,
        source: m[6] as PreviewBox["source"],
      });
    }
    if (!ran) continue;
    boxes.sort((a, b) => a.frame - b.frame);
    const usRegions = regions(instance.index);
    instances.push({
      index: instance.index,
      ...(instance.sopInstanceUID ? { sopInstanceUID: instance.sopInstanceUID } : {}),
      boxes,
      ...(usRegions ? { usRegions } : {}),
    });
  }
  return { instances };
}
