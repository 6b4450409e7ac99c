/** The engine on worker threads (piscina), so CPU work never blocks the event loop. */
import crypto from "node:crypto";
import { workerFile } from "../package-root.js";
import { Piscina } from "piscina";
import type { AnonymizedChunks, FailedInstance, InstanceOutcome } from "./anonymize.js";
import type { PoolSettings, PoolTask } from "./pool-worker.js";
import type { DetectorChannel, DetectorPool } from "../pixel/detector-pool.js";

export type ProfileRef = { readonly name: string } | { readonly custom: unknown };

/** The detector pool, and which profiles run the detector (their tasks get a channel to it). */
export interface DetectorRouting {
  readonly pool: DetectorPool;
  readonly needs: (profile: ProfileRef) => boolean;
}

export class EnginePool {
  private readonly piscina: Piscina<PoolTask, InstanceOutcome>;

  constructor(
    settings: PoolSettings,
    threads: number,
    private readonly detector?: DetectorRouting,
  ) {
    this.piscina = new Piscina({
      filename: workerFile(import.meta.url, "pool-worker.js"),
      workerData: settings,
      minThreads: threads,
      maxThreads: threads,
      idleTimeout: 60_000,
    });
  }

  /**
   * De-identifies one instance. With `transfer`, the input's memory is moved to the worker (the
   * caller must not use it again: an upload read for this request only); otherwise it is copied
   * (a session keeps its originals).
   */
  async anonymize(input: Buffer, profile: ProfileRef, transfer = false): Promise<InstanceOutcome> {
    const ref = "name" in profile ? profile : { custom: profile.custom, key: keyOf(profile.custom) };
    const channel = this.channelFor(profile);
    const detector = channel && { port: channel.port, parallelism: this.detector!.pool.threads };
    const task = transfer
      ? (Piscina.move(
          new MovedTask({ input: ownedBuffer(input), profile: ref, detector }) as never,
        ) as unknown as PoolTask)
      : { input: new Uint8Array(input.buffer, input.byteOffset, input.byteLength), profile: ref, detector };
    const outcome = await this.piscina
      .run(task, { transferList: channel ? [channel.port] : undefined })
      .finally(() => channel?.close());
    if (outcome.status === "anonymized" && !Buffer.isBuffer(outcome.output)) {
      const o = outcome.output as Uint8Array;
      return { ...outcome, output: Buffer.from(o.buffer, o.byteOffset, o.byteLength) };
    }
    return outcome;
  }

  /**
   * As anonymize(transfer = true), answering with chunks whose large values are views of the input
   * (moved there and back): no output buffer is allocated and nothing large is copied.
   */
  async anonymizeChunks(input: Buffer, profile: ProfileRef): Promise<AnonymizedChunks | FailedInstance> {
    const ref = "name" in profile ? profile : { custom: profile.custom, key: keyOf(profile.custom) };
    const channel = this.channelFor(profile);
    const detector = channel && { port: channel.port, parallelism: this.detector!.pool.threads };
    const task = Piscina.move(
      new MovedTask({ input: ownedBuffer(input), profile: ref, chunked: true, detector }) as never,
    ) as unknown as PoolTask;
    const outcome = (await this.piscina
      .run(task, { transferList: channel ? [channel.port] : undefined })
      .finally(() => channel?.close())) as unknown as AnonymizedChunks | FailedInstance;
    if (outcome.status !== "anonymized") return outcome;
    return {
      ...outcome,
      chunks: outcome.chunks.map((c) => Buffer.from(c.buffer, c.byteOffset, c.byteLength)),
    };
  }

  /** A channel to the detector pool for a task whose profile runs the detector. */
  private channelFor(profile: ProfileRef): DetectorChannel | undefined {
    return this.detector?.needs(profile) ? this.detector.pool.open() : undefined;
  }

  /** Tasks waiting for a thread. */
  get queued(): number {
    return this.piscina.queueSize;
  }

  get threads(): number {
    return this.piscina.threads.length;
  }

  /** The detector pool's size, threads running now and detections waiting (none without a pool). */
  get detectorState(): { threads: number; running: number; queued: number } | undefined {
    const pool = this.detector?.pool;
    return pool && { threads: pool.threads, running: pool.threadsRunning, queued: pool.queued };
  }

  async close(): Promise<void> {
    await this.piscina.destroy();
    await this.detector?.pool.close();
  }
}

/** A task whose input memory is moved to the worker (piscina moves only a top-level Transferable). */
class MovedTask {
  constructor(private readonly task: PoolTask) {}
  get [Piscina.transferableSymbol](): ArrayBufferLike {
    return this.task.input.buffer;
  }
  get [Piscina.valueSymbol](): PoolTask {
    return this.task;
  }
}

/** Small Buffers share a pooled ArrayBuffer; moving that would take their neighbours along. */
function ownedBuffer(input: Buffer): Buffer {
  if (input.byteOffset === 0 && input.byteLength === input.buffer.byteLength) return input;
  const copy = Buffer.allocUnsafeSlow(input.length);
  input.copy(copy);
  return copy;
}

function keyOf(custom: unknown): string {
  return crypto.createHash("sha256").update(JSON.stringify(custom)).digest("hex");
}
