/**
 * A minimum body rate: while the reader waits for the body, at least minBytesPerSecond must arrive
 * on average over each window of rateWindowMs of waiting, or the request ends with 408. Only time
 * spent waiting for the client counts: while the reader holds back (the engine is busy, TCP
 * backpressure), the clock stops, so a fast client is never cut because the service was slow.
 * A client trickling a byte a second is cut after one window instead of holding its connection,
 * its buffers and (once admitted) a slot for REQUEST_TIMEOUT_MS.
 */
import { bodyTooSlow, type UploadLimits } from "./limits.js";

const LATE = Symbol("late");

export class BodyPace {
  private waited = 0;
  private got = 0;

  constructor(private readonly limits: UploadLimits) {}

  /** Yields `source` as it arrives, throwing 408 when it comes slower than the minimum rate. */
  async *iterate<T>(source: AsyncIterable<T>, size: (value: T) => number): AsyncGenerator<T> {
    const { minBytesPerSecond: rate = 0, rateWindowMs: window = 10_000 } = this.limits;
    if (rate <= 0) {
      yield* source;
      return;
    }
    const need = (rate * window) / 1000;
    const it = source[Symbol.asyncIterator]();
    let pending: Promise<IteratorResult<T>> | undefined;
    let finished = false;
    try {
      for (;;) {
        pending ??= it.next();
        const started = performance.now();
        let timer: NodeJS.Timeout | undefined;
        const outcome = await Promise.race([
          pending,
          new Promise<typeof LATE>((resolve) => {
            timer = setTimeout(() => resolve(LATE), Math.max(1, window - this.waited));
          }),
        ]).finally(() => clearTimeout(timer));
        this.waited += performance.now() - started;
        if (outcome !== LATE) {
          pending = undefined;
          if (outcome.done) {
            finished = true;
            return;
          }
          this.got += size(outcome.value);
        }
        if (this.waited >= window) {
          if (this.got < need) {
            // Leave the stream as it is: the 408 goes out, then the connection closes.
            finished = true;
            throw bodyTooSlow(this.limits);
          }
          this.waited = 0;
          this.got = 0;
        }
        if (outcome !== LATE) yield outcome.value;
      }
    } finally {
      // Stopped early by the consumer (a limit, a malformed body): end the source as for-await would.
      if (!finished) {
        if (pending) pending.catch(() => {});
        await it.return?.();
      }
    }
  }
}

export const chunkSize = (chunk: Buffer): number => chunk.length;
