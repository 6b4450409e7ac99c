/**
 * The asynchronous half of the pixel step: runs the text detector on every distinct frame of an
 * instance whose profile asks for it, before the (synchronous) pipeline fills the boxes. Any
 * problem returns undefined: cleanPixelData then refuses the instance with its own code.
 */
import crypto from "node:crypto";
import { readPart10, type ReadOptions } from "../dicom/part10.js";
import type { Plan } from "../engine/plan.js";
import type { Rect } from "./config.js";
import { detectText } from "./detector.js";
import { toDisplay } from "./display.js";
import { decodeFrames, inPixelScope } from "./index.js";

export async function detectInstance(
  input: Buffer,
  plan: Plan,
  read?: ReadOptions,
): Promise<Rect[][] | undefined> {
  if (!plan.pixel?.detector) return undefined;
  try {
    const parsed = readPart10(input, read);
    if (!inPixelScope(parsed.dataset, plan.pixel)) return undefined;
    const { frames, planar, module: px } = decodeFrames(parsed.dataset, parsed.transferSyntax);
    // Exact duplicate frames are detected once.
    const byHash = new Map<string, Rect[]>();
    const out: Rect[][] = [];
    for (const frame of frames) {
      const key = crypto.createHash("sha1").update(frame).digest("hex");
      let boxes = byHash.get(key);
      if (!boxes) {
        boxes = await detectText(toDisplay(frame, px, planar));
        byHash.set(key, boxes);
      }
      out.push(boxes);
    }
    return out;
  } catch {
    return undefined;
  }
}
