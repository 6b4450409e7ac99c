/** Upload limits (configuration) and the named errors readers throw when input breaks them. */
import { badRequest, HttpProblem, payloadTooLarge } from "../http/problem.js";

export interface UploadLimits {
  readonly maxParts: number;
  readonly maxPartBytes: number;
  readonly maxRequestBytes: number;
  /** The body must arrive at this average rate over each window of waiting for it (0: no minimum). */
  readonly minBytesPerSecond?: number;
  readonly rateWindowMs?: number;
  /** The request's admission; without one, the reader takes no slot and reserves no bytes. */
  readonly admission?: Admission;
}

/**
 * A request is admitted to a de-identification slot once its first part has arrived, so a client
 * that is slow to send holds no slot. Until then its buffered bytes count against a budget shared
 * by all requests being received.
 */
export interface Admission {
  /** Bytes about to be buffered: before admission they count against the budget (503 past it). */
  buffer(bytes: number): void;
  /** Takes a slot (503 at capacity); from here the request's bytes are bounded by the slot count. */
  admit(): void;
}

/** One uploaded body part: a DICOM instance, or (with a JSON type) a custom profile. */
export interface UploadPart {
  readonly contentType: string;
  readonly data: Buffer;
}

export const tooManyParts = (limits: UploadLimits): HttpProblem =>
  payloadTooLarge(`more than ${limits.maxParts} parts (MAX_PARTS)`);
export const partTooLarge = (limits: UploadLimits): HttpProblem =>
  payloadTooLarge(`a part is larger than ${limits.maxPartBytes} bytes (MAX_PART_BYTES)`);
export const requestTooLarge = (limits: UploadLimits): HttpProblem =>
  payloadTooLarge(`the request is larger than ${limits.maxRequestBytes} bytes (MAX_REQUEST_BYTES)`);
export const bodyTooSlow = (limits: UploadLimits): HttpProblem =>
  new HttpProblem(
    408,
    "Request Timeout",
    `the body arrived slower than ${limits.minBytesPerSecond ?? 0} bytes/s over ${limits.rateWindowMs ?? 0} ms (MIN_BODY_RATE, BODY_RATE_WINDOW_MS)`,
    {},
    // The rest of the body is not read: the connection closes after the answer.
    { connection: "close" },
  );
export const malformedMultipart = (detail: string): HttpProblem =>
  badRequest(`malformed multipart body: ${detail}`);

/** Collects chunks up to a limit, then hands out one Buffer that owns its memory. */
export class PartCollector {
  private chunks: Buffer[] = [];
  size = 0;

  constructor(
    private readonly limit: number,
    private readonly onTooLarge: () => HttpProblem,
    private readonly admission?: Admission,
  ) {}

  add(chunk: Buffer): void {
    this.size += chunk.length;
    if (this.size > this.limit) throw this.onTooLarge();
    this.admission?.buffer(chunk.length);
    this.chunks.push(chunk);
  }

  take(): Buffer {
    const out = Buffer.allocUnsafeSlow(this.size);
    let offset = 0;
    for (const c of this.chunks) {
      c.copy(out, offset);
      offset += c.length;
    }
    this.chunks = [];
    this.size = 0;
    return out;
  }
}
