/**
 * The service's text detector threads (piscina), one PP-OCRv4 session each, shared by every engine
 * worker: an engine task whose profile runs the detector gets a MessagePort (open()) over which its
 * worker sends crops (src/pixel/detector-remote.ts); this side runs each on a free detector thread.
 * One cine's frames are so detected on every core at once (a whole 1024x768 frame is ~0.25 s of
 * model time; ONNX Runtime's own intra-op threads gave 1.2x on two cores, two sessions ~1.9x).
 * Threads start on first use and leave after a minute idle, taking their ~400 MB with them.
 */
import { MessageChannel, type MessagePort } from "node:worker_threads";
import { Piscina } from "piscina";
import { workerFile } from "../package-root.js";
import type { Rect } from "./config.js";
import type { DetectAnswer, DetectRequest } from "./detector-remote.js";

export interface DetectorChannel {
  /** The end an engine worker detects through (transfer it with the task). */
  readonly port: MessagePort;
  /** Ends the channel (when the task is done). */
  close(): void;
}

export class DetectorPool {
  private readonly piscina: Piscina<Omit<DetectRequest, "id">, Rect[]>;
  private opened = 0;

  constructor(readonly threads: number) {
    this.piscina = new Piscina({
      filename: workerFile(import.meta.url, "detector-worker.js"),
      minThreads: 0,
      maxThreads: threads,
      idleTimeout: 60_000,
    });
  }

  open(): DetectorChannel {
    this.opened++;
    const { port1, port2 } = new MessageChannel();
    port1.on("message", (request: DetectRequest) => {
      const { id, image, scale } = request;
      this.piscina.run({ image, scale }, { transferList: [image.data.buffer as ArrayBuffer] }).then(
        (boxes) => port1.postMessage({ id, boxes } satisfies DetectAnswer),
        () => port1.postMessage({ id, failed: true } satisfies DetectAnswer),
      );
    });
    return { port: port2, close: () => port1.close() };
  }

  /** Channels opened so far (one per engine task that runs the detector). */
  get channelsOpened(): number {
    return this.opened;
  }

  /** Detector threads alive now (started on demand, gone after a minute idle). */
  get threadsRunning(): number {
    return this.piscina.threads.length;
  }

  /** Detections waiting for a thread. */
  get queued(): number {
    return this.piscina.queueSize;
  }

  async close(): Promise<void> {
    await this.piscina.destroy();
  }
}
