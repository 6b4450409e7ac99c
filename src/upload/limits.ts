/** Upload limits (configuration) and the named errors readers throw when input breaks them. */
import { badRequest, payloadTooLarge, type HttpProblem } from "../http/problem.js";

export interface UploadLimits {
  readonly maxParts: number;
  readonly maxPartBytes: number;
  readonly maxRequestBytes: number;
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
export const malformedMultipart = (detail: string): HttpProblem =>
  badRequest(`malformed multipart body: ${detail}`);

/** Collects chunks up to a limit, then hands out one Buffer that owns its memory. */
export class PartCollector {
  private chunks: Buffer[] = [];
  size = 0;

  constructor(
    private readonly limit: number,
    private readonly onTooLarge: () => HttpProblem,
  ) {}

  add(chunk: Buffer): void {
    this.size += chunk.length;
    if (this.size > this.limit) throw this.onTooLarge();
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
