/**
 * A TextDetector for an engine worker: each detection's crop is sent over a MessagePort to the
 * process's detector pool (src/pixel/detector-pool.ts) and its boxes come back, so one instance's
 * frames are detected on several threads at once while this worker goes on decoding and building
 * display images. Crops move (transferred, not copied) and boxes are mapped back to the frame.
 */
import type { MessagePort } from "node:worker_threads";
import type { Rect } from "./config.js";
import { cropImage, modelScale, type TextDetector } from "./detector.js";
import type { RgbImage } from "./display.js";

/** Sent to the pool: a crop and the model-input scale to detect it at. */
export interface DetectRequest {
  readonly id: number;
  readonly image: RgbImage;
  readonly scale: number;
}

/** Back from the pool: the crop's boxes, or that the detection failed (no message: it may name nothing). */
export type DetectAnswer =
  { readonly id: number; readonly boxes: Rect[] } | { readonly id: number; readonly failed: true };

export interface RemoteDetector extends TextDetector {
  /** Stops listening; detections still pending fail. */
  close(): void;
}

export function remoteDetector(port: MessagePort, parallelism: number): RemoteDetector {
  let next = 0;
  let closed = false;
  const pending = new Map<number, { resolve: (boxes: Rect[]) => void; reject: (e: Error) => void }>();
  port.on("message", (answer: DetectAnswer) => {
    const waiting = pending.get(answer.id);
    if (!waiting) return;
    pending.delete(answer.id);
    if ("boxes" in answer) waiting.resolve(answer.boxes);
    else waiting.reject(new Error("text detection failed in the detector pool"));
  });
  return {
    parallelism: Math.max(1, parallelism),
    async detect(img, region, scale) {
      // After the task ends (or failed), frames still queued in its lanes stop here.
      if (closed) throw new Error("the detector channel closed");
      const area: Rect = region ?? [0, 0, img.width, img.height];
      const k = scale ?? modelScale(area[2], area[3]);
      const cropped = cropImage(img, area);
      // The crop's memory moves to the pool: never the caller's own image.
      const crop = cropped === img ? { ...img, data: img.data.slice() } : cropped;
      const id = next++;
      const boxes = await new Promise<Rect[]>((resolve, reject) => {
        pending.set(id, { resolve, reject });
        const request: DetectRequest = { id, image: crop, scale: k };
        port.postMessage(request, [crop.data.buffer as ArrayBuffer]);
      });
      return boxes.map(([x, y, w, h]): Rect => [x + area[0], y + area[1], w, h]);
    },
    close() {
      closed = true;
      port.close();
      for (const waiting of pending.values()) waiting.reject(new Error("the detector channel closed"));
      pending.clear();
    },
  };
}
