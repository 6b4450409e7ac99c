/**
 * The detector over the frames of one instance, before the (synchronous) pipeline fills the boxes:
 * every distinct frame is run once (exact duplicates share their boxes).
 */
import crypto from "node:crypto";
import type { DataElement } from "../dicom/element.js";
import type { TransferSyntax } from "../dicom/transfer-syntax.js";
import type { Rect } from "./config.js";
import { detectText } from "./detector.js";
import { toDisplay } from "./display.js";
import { decodeFrames } from "./index.js";

/** Text boxes per frame. Throws PixelError when the frames cannot be decoded. */
export async function detectInstance(dataset: readonly DataElement[], ts: TransferSyntax): Promise<Rect[][]> {
  const { frames, planar, module: px } = decodeFrames(dataset, ts);
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
}
