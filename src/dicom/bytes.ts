/**
 * What the reader needs from its input: a Buffer, or a ChunkedBytes over an output written as
 * chunks (small header segments plus large values that are views of the input). Reading an output
 * in place lets the verifier re-read it without first copying it into one buffer.
 */
export interface ByteSource {
  readonly length: number;
  readUInt8(offset: number): number;
  readUInt16LE(offset: number): number;
  readUInt16BE(offset: number): number;
  readUInt32LE(offset: number): number;
  readUInt32BE(offset: number): number;
  /** A view within one chunk (values never straddle chunks); a copy if it must. */
  subarray(start: number, end: number): Buffer;
  toString(encoding: "latin1", start: number, end: number): string;
}

export class ChunkedBytes implements ByteSource {
  readonly length: number;
  private readonly starts: number[] = [];

  constructor(private readonly chunks: readonly Buffer[]) {
    let offset = 0;
    for (const c of chunks) {
      this.starts.push(offset);
      offset += c.length;
    }
    this.length = offset;
  }

  /** Index of the chunk holding `offset` (binary search). */
  private find(offset: number): number {
    let lo = 0;
    let hi = this.chunks.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (this.starts[mid]! <= offset) lo = mid;
      else hi = mid - 1;
    }
    return lo;
  }

  private small(offset: number, size: number): Buffer {
    const i = this.find(offset);
    const local = offset - this.starts[i]!;
    const chunk = this.chunks[i]!;
    if (local + size <= chunk.length) return chunk.subarray(local, local + size);
    return this.subarray(offset, offset + size);
  }

  readUInt8(offset: number): number {
    return this.small(offset, 1).readUInt8(0);
  }
  readUInt16LE(offset: number): number {
    return this.small(offset, 2).readUInt16LE(0);
  }
  readUInt16BE(offset: number): number {
    return this.small(offset, 2).readUInt16BE(0);
  }
  readUInt32LE(offset: number): number {
    return this.small(offset, 4).readUInt32LE(0);
  }
  readUInt32BE(offset: number): number {
    return this.small(offset, 4).readUInt32BE(0);
  }

  subarray(start: number, end: number): Buffer {
    const i = this.find(start);
    const local = start - this.starts[i]!;
    const chunk = this.chunks[i]!;
    if (local + (end - start) <= chunk.length) return chunk.subarray(local, local + (end - start));
    const out = Buffer.allocUnsafe(end - start);
    let written = 0;
    for (let k = i; written < out.length; k++) {
      const from = k === i ? local : 0;
      const part = this.chunks[k]!.subarray(from, from + (out.length - written));
      part.copy(out, written);
      written += part.length;
    }
    return out;
  }

  toString(encoding: "latin1", start: number, end: number): string {
    return this.subarray(start, end).toString(encoding);
  }
}
