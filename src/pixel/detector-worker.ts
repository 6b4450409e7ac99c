/** A thread of the detector pool (src/pixel/detector-pool.ts): one crop in, its boxes out. */
import { detectText } from "./detector.js";
import type { DetectRequest } from "./detector-remote.js";
import type { Rect } from "./config.js";

export default function detect(request: Omit<DetectRequest, "id">): Promise<Rect[]> {
  return detectText(request.image, undefined, request.scale);
}
