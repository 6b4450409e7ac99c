/**
 * Writes a dataset in a given encoding. Leaf values are copied once, byte for byte, into one output
 * buffer; sizes are measured first so nothing is re-allocated. Sequences and items keep the length
 * form they were read with (defined lengths are recomputed, since contents may have changed).
 */
import { DicomParseError } from "../errors.js";
import type { DataElement, Item } from "./element.js";
import { ITEM, ITEM_DELIMITATION, SEQUENCE_DELIMITATION, tagParen } from "./tag.js";
import { IMPLICIT_LE, type Encoding } from "./transfer-syntax.js";
import { LONG_LENGTH_VRS } from "./vr.js";

const UNDEFINED_LENGTH = 0xffffffff;

function headerLength(element: DataElement, enc: Encoding): number {
  return enc.explicitVr && LONG_LENGTH_VRS.has(element.vr) ? 12 : 8;
}

function itemsEncoding(element: DataElement, enc: Encoding): Encoding {
  return element.implicitItems ? IMPLICIT_LE : enc;
}

/** Bytes of an element's value (without its header), as it will be written. */
function valueLength(element: DataElement, enc: Encoding, sizes: Map<object, number>): number {
  if (element.items) {
    const itemEnc = itemsEncoding(element, enc);
    let total = 0;
    for (const item of element.items)
      total += 8 + itemContentLength(item, itemEnc, sizes) + (item.undefinedLength ? 8 : 0);
    if (element.undefinedLength) total += 8;
    sizes.set(element, total);
    return total;
  }
  if (element.fragments) return element.fragments.length;
  return element.value?.length ?? 0;
}

function itemContentLength(item: Item, enc: Encoding, sizes: Map<object, number>): number {
  const total = datasetLength(item.elements, enc, sizes);
  sizes.set(item, total);
  return total;
}

function datasetLength(elements: readonly DataElement[], enc: Encoding, sizes: Map<object, number>): number {
  let total = 0;
  for (const element of elements) total += headerLength(element, enc) + valueLength(element, enc, sizes);
  return total;
}

class Writer {
  offset = 0;
  /** Chunked mode: values of at least `bulkThreshold` bytes are emitted as views, not copied. */
  readonly chunks: Buffer[] = [];
  private segmentStart = 0;

  constructor(
    readonly buf: Buffer,
    readonly sizes: Map<object, number>,
    readonly bulkThreshold = Infinity,
  ) {}

  /** Ends the output: the last arena segment joins the chunk list. */
  finish(): Buffer[] {
    if (this.offset > this.segmentStart) this.chunks.push(this.buf.subarray(this.segmentStart, this.offset));
    this.segmentStart = this.offset;
    return this.chunks;
  }

  u16(v: number, enc: Encoding): void {
    if (enc.littleEndian) this.buf.writeUInt16LE(v, this.offset);
    else this.buf.writeUInt16BE(v, this.offset);
    this.offset += 2;
  }

  u32(v: number, enc: Encoding): void {
    if (enc.littleEndian) this.buf.writeUInt32LE(v, this.offset);
    else this.buf.writeUInt32BE(v, this.offset);
    this.offset += 4;
  }

  tag(tag: number, enc: Encoding): void {
    this.u16(tag >>> 16, enc);
    this.u16(tag & 0xffff, enc);
  }

  bytes(b: Uint8Array): void {
    if (b.length >= this.bulkThreshold) {
      this.finish();
      this.chunks.push(Buffer.from(b.buffer, b.byteOffset, b.byteLength));
      return;
    }
    this.buf.set(b, this.offset);
    this.offset += b.length;
  }

  elements(elements: readonly DataElement[], enc: Encoding): void {
    for (const element of elements) this.element(element, enc);
  }

  element(element: DataElement, enc: Encoding): void {
    const undefinedLength =
      element.undefinedLength && (element.items !== undefined || element.fragments !== undefined);
    const length = undefinedLength
      ? UNDEFINED_LENGTH
      : element.items
        ? this.sizes.get(element)!
        : valueLengthOf(element);
    this.tag(element.tag, enc);
    if (enc.explicitVr) {
      this.buf.write(element.vr, this.offset, 2, "latin1");
      this.offset += 2;
      if (LONG_LENGTH_VRS.has(element.vr)) {
        this.u16(0, enc);
        this.u32(length, enc);
      } else {
        if (length > 0xffff) {
          throw new DicomParseError(
            `element ${tagParen(element.tag)} (${element.vr}) is too long for its VR`,
          );
        }
        this.u16(length, enc);
      }
    } else {
      this.u32(length, enc);
    }
    if (element.items) {
      const itemEnc = itemsEncoding(element, enc);
      for (const item of element.items) {
        this.tag(ITEM, itemEnc);
        this.u32(item.undefinedLength ? UNDEFINED_LENGTH : this.sizes.get(item)!, itemEnc);
        this.elements(item.elements, itemEnc);
        if (item.undefinedLength) {
          this.tag(ITEM_DELIMITATION, itemEnc);
          this.u32(0, itemEnc);
        }
      }
      if (element.undefinedLength) {
        this.tag(SEQUENCE_DELIMITATION, itemEnc);
        this.u32(0, itemEnc);
      }
    } else if (element.fragments) {
      this.bytes(element.fragments);
    } else if (element.value) {
      this.bytes(element.value);
    }
  }
}

function valueLengthOf(element: DataElement): number {
  return element.fragments?.length ?? element.value?.length ?? 0;
}

/** Where output bytes go: a fresh buffer by default; a caller may hand out a reused one. */
export type Allocator = (size: number) => Buffer;
const defaultAllocator: Allocator = (size) => Buffer.allocUnsafe(size);

/** Measures, allocates once, writes. `prefix` bytes are reserved at the start for the caller. */
export function writeDataset(
  elements: readonly DataElement[],
  enc: Encoding,
  prefix = 0,
  allocate: Allocator = defaultAllocator,
): { buf: Buffer; start: number } {
  const sizes = new Map<object, number>();
  const total = datasetLength(elements, enc, sizes);
  const buf = allocate(prefix + total);
  const writer = new Writer(buf, sizes);
  writer.offset = prefix;
  writer.elements(elements, enc);
  if (writer.offset !== buf.length)
    throw new Error(`writer size mismatch: ${writer.offset} != ${buf.length}`);
  return { buf, start: prefix };
}

function bulkBytes(elements: readonly DataElement[], threshold: number): number {
  let total = 0;
  for (const e of elements) {
    if (e.items) for (const item of e.items) total += bulkBytes(item.elements, threshold);
    const length = e.fragments?.length ?? e.value?.length ?? 0;
    if (!e.items && length >= threshold) total += length;
  }
  return total;
}

/**
 * Chunked output: header bytes and small values go into one arena; every value of at least
 * `bulkThreshold` bytes (pixel data, waveforms, fragments) is a view of its source, never copied.
 * The first chunk starts with `prefix` reserved bytes for the caller. Write with writev.
 */
export function writeDatasetChunks(
  elements: readonly DataElement[],
  enc: Encoding,
  prefix: number,
  bulkThreshold: number,
  allocate: Allocator = defaultAllocator,
): Buffer[] {
  const sizes = new Map<object, number>();
  const total = datasetLength(elements, enc, sizes);
  const arena = allocate(prefix + total - bulkBytes(elements, bulkThreshold));
  const writer = new Writer(arena, sizes, bulkThreshold);
  writer.offset = prefix; // the first segment starts at 0, so it carries the prefix
  writer.elements(elements, enc);
  const chunks = writer.finish();
  if (writer.offset !== arena.length)
    throw new Error(`writer size mismatch: ${writer.offset} != ${arena.length}`);
  return chunks;
}
