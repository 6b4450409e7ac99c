/**
 * A zero-copy reader of PS3.5 datasets: element headers are decoded, values stay views into the
 * input. It understands defined and undefined lengths, nested sequences, encapsulated Pixel Data and
 * UN elements that hold Implicit VR sequences. Anything it cannot account for is a DicomParseError.
 */
import { DicomParseError } from "../errors.js";
import type { DataElement, Item } from "./element.js";
import { implicitVrOf, lookupTag } from "./dictionary.js";
import {
  ITEM,
  ITEM_DELIMITATION,
  PIXEL_DATA,
  SEQUENCE_DELIMITATION,
  tagOf,
  tagParen,
  type Tag,
} from "./tag.js";
import type { ByteSource } from "./bytes.js";
import { IMPLICIT_LE, type Encoding } from "./transfer-syntax.js";
import { KNOWN_VRS, LONG_LENGTH_VRS } from "./vr.js";

const UNDEFINED_LENGTH = 0xffffffff;
/** Deeper nesting than this is hostile or broken; real data stays under ~12. */
export const MAX_DEPTH = 64;

interface Cursor {
  readonly buf: ByteSource;
  offset: number;
}

function allZero(buf: ByteSource, start: number, end: number): boolean {
  for (let i = start; i < end; i++) if (buf.readUInt8(i) !== 0) return false;
  return true;
}

function readTag(c: Cursor, enc: Encoding): Tag {
  const { buf, offset } = c;
  const group = enc.littleEndian ? buf.readUInt16LE(offset) : buf.readUInt16BE(offset);
  const element = enc.littleEndian ? buf.readUInt16LE(offset + 2) : buf.readUInt16BE(offset + 2);
  c.offset += 4;
  return tagOf(group, element);
}

function readU16(c: Cursor, enc: Encoding): number {
  const v = enc.littleEndian ? c.buf.readUInt16LE(c.offset) : c.buf.readUInt16BE(c.offset);
  c.offset += 2;
  return v;
}

function readU32(c: Cursor, enc: Encoding): number {
  const v = enc.littleEndian ? c.buf.readUInt32LE(c.offset) : c.buf.readUInt32BE(c.offset);
  c.offset += 4;
  return v;
}

function need(c: Cursor, end: number, bytes: number, what: string): void {
  if (c.offset + bytes > end) {
    throw new DicomParseError(
      `truncated ${what} at offset ${c.offset}: needs ${bytes} bytes, ${end - c.offset} left`,
    );
  }
}

/** Reads a whole dataset from `start` to `end`. */
export function readDataset(buf: ByteSource, enc: Encoding, start = 0, end = buf.length): DataElement[] {
  const c: Cursor = { buf, offset: start };
  const elements = readElements(c, enc, end, 0, false);
  return elements;
}

/**
 * Reads elements until `end`, or (inside an undefined-length item) until the Item Delimitation Item.
 */
function readElements(
  c: Cursor,
  enc: Encoding,
  end: number,
  depth: number,
  inUndefinedItem: boolean,
): DataElement[] {
  if (depth > MAX_DEPTH) throw new DicomParseError(`sequences nested deeper than ${MAX_DEPTH}`);
  const elements: DataElement[] = [];
  let previous = -1;
  while (c.offset < end) {
    need(c, end, 8, "element header");
    const headerStart = c.offset;
    const tag = readTag(c, enc);
    if (tag === ITEM_DELIMITATION) {
      if (!inUndefinedItem)
        throw new DicomParseError(`unexpected Item Delimitation at offset ${headerStart}`);
      c.offset += 4; // its length, always 0
      return elements;
    }
    if (tag === ITEM || tag === SEQUENCE_DELIMITATION) {
      throw new DicomParseError(`unexpected ${tagParen(tag)} at offset ${headerStart}`);
    }
    // Trailing padding some writers leave after the last element (all zero bytes) ends the dataset.
    if (tag === 0 && depth === 0 && allZero(c.buf, headerStart, end)) {
      c.offset = end;
      break;
    }
    if (tag <= previous) {
      throw new DicomParseError(
        `element ${tagParen(tag)} at offset ${headerStart} is out of ascending order`,
      );
    }
    previous = tag;
    elements.push(readElement(c, enc, end, depth, tag, headerStart));
  }
  if (inUndefinedItem) throw new DicomParseError("undefined-length item has no Item Delimitation");
  return elements;
}

function readElement(
  c: Cursor,
  enc: Encoding,
  end: number,
  depth: number,
  tag: Tag,
  headerStart: number,
): DataElement {
  let vr: string;
  let length: number;
  if (enc.explicitVr) {
    vr = String.fromCharCode(c.buf.readUInt8(c.offset), c.buf.readUInt8(c.offset + 1));
    c.offset += 2;
    if (!KNOWN_VRS.has(vr))
      throw new DicomParseError(`element ${tagParen(tag)} at offset ${headerStart} has an unknown VR`);
    if (LONG_LENGTH_VRS.has(vr)) {
      need(c, end, 6, "element header");
      c.offset += 2;
      length = readU32(c, enc);
    } else {
      length = readU16(c, enc);
    }
  } else {
    vr = implicitVrOf(tag);
    length = readU32(c, enc);
  }

  // The dictionary is asked only in the rare cases that need it (undefined lengths, UN): not per element.
  const dictionaryVr = (): string | undefined => lookupTag(tag)?.vr;
  if (length === UNDEFINED_LENGTH) {
    if (tag === PIXEL_DATA) return readFragments(c, end, enc, tag, vr);
    if (vr === "SQ") return { tag, vr, items: readItems(c, enc, end, depth, true), undefinedLength: true };
    // PS3.5 6.2.2: a UN with undefined length is a sequence encoded Implicit VR Little Endian.
    if (vr === "UN") {
      return {
        tag,
        vr,
        items: readItems(c, IMPLICIT_LE, end, depth, true),
        undefinedLength: true,
        implicitItems: true,
      };
    }
    if (dictionaryVr() === "SQ")
      return { tag, vr, items: readItems(c, enc, end, depth, true), undefinedLength: true };
    throw new DicomParseError(
      `element ${tagParen(tag)} (${vr}) at offset ${headerStart} has undefined length`,
    );
  }

  if (c.offset + length > end) {
    throw new DicomParseError(
      `element ${tagParen(tag)} at offset ${headerStart} is longer (${length}) than the bytes left (${end - c.offset})`,
    );
  }
  const valueEnd = c.offset + length;
  if (vr === "SQ") {
    const items = readItems(c, enc, valueEnd, depth, false);
    return { tag, vr, items, undefinedLength: false };
  }
  // A known sequence sent as UN with a defined length (e.g. by a node that did not know the tag):
  // parse it so its contents are de-identified like any sequence. If that fails, keep the raw bytes;
  // the engine refuses to keep such an element.
  if (vr === "UN" && length > 0 && dictionaryVr() === "SQ") {
    const save = c.offset;
    try {
      const items = readItems(c, IMPLICIT_LE, valueEnd, depth, false);
      return { tag, vr, items, undefinedLength: false, implicitItems: true };
    } catch (error) {
      if (!(error instanceof DicomParseError)) throw error;
      c.offset = save;
    }
  }
  const value = c.buf.subarray(c.offset, valueEnd);
  c.offset = valueEnd;
  return { tag, vr, value, undefinedLength: false };
}

function readItems(c: Cursor, enc: Encoding, end: number, depth: number, undefinedLength: boolean): Item[] {
  const items: Item[] = [];
  while (undefinedLength || c.offset < end) {
    need(c, end, 8, "item header");
    const at = c.offset;
    const tag = readTag(c, enc);
    const length = readU32(c, enc);
    if (tag === SEQUENCE_DELIMITATION) {
      if (!undefinedLength) throw new DicomParseError(`unexpected Sequence Delimitation at offset ${at}`);
      return items;
    }
    if (tag !== ITEM) throw new DicomParseError(`expected an Item at offset ${at}, found ${tagParen(tag)}`);
    if (length === UNDEFINED_LENGTH) {
      items.push({ elements: readElements(c, enc, end, depth + 1, true), undefinedLength: true });
    } else {
      if (c.offset + length > end)
        throw new DicomParseError(`item at offset ${at} is longer than its sequence`);
      const itemEnd = c.offset + length;
      items.push({ elements: readElements(c, enc, itemEnd, depth + 1, false), undefinedLength: false });
      c.offset = itemEnd;
    }
  }
  return items;
}

/** Encapsulated Pixel Data (PS3.5 A.4): walk the fragment items to find the end, keep them raw. */
function readFragments(c: Cursor, end: number, enc: Encoding, tag: Tag, vr: string): DataElement {
  const start = c.offset;
  for (;;) {
    need(c, end, 8, "pixel data fragment header");
    const at = c.offset;
    const itemTag = readTag(c, enc);
    const length = readU32(c, enc);
    if (itemTag === SEQUENCE_DELIMITATION) break;
    if (itemTag !== ITEM || length === UNDEFINED_LENGTH) {
      throw new DicomParseError(`bad pixel data fragment at offset ${at}`);
    }
    if (c.offset + length > end)
      throw new DicomParseError(`pixel data fragment at offset ${at} is truncated`);
    c.offset += length;
  }
  return { tag, vr, fragments: c.buf.subarray(start, c.offset), undefinedLength: true };
}
