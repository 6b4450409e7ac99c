/**
 * Where each element of a DICOM file sits (header, length field, value), found by a small walker of
 * its own: it shares no code with the engine's reader, so the fuzz test can mutate files at element
 * boundaries and the leak check can find needles and Pixel Data without trusting the code under test.
 * It never throws: on bytes it cannot account for it stops and says so (`complete: false`).
 */
import zlib from "node:zlib";
import dcmjs from "dcmjs";

export interface ElementSpan {
  readonly tag: number;
  /** The VR as encoded (explicit), or the dictionary's for implicit VR ("UN" when unknown). */
  readonly vr: string;
  /** Offset of the header in the dataset bytes. */
  readonly offset: number;
  readonly lengthOffset: number;
  readonly lengthSize: 2 | 4;
  /** The length field as encoded (0xFFFFFFFF for undefined). */
  readonly length: number;
  readonly valueOffset: number;
  /** Offset just past the element (past its Sequence Delimitation for undefined lengths). */
  readonly end: number;
  readonly depth: number;
  /** Index of the enclosing element in `elements` (-1 at the top level). */
  readonly parent: number;
}

export interface Syntax {
  readonly explicitVr: boolean;
  readonly littleEndian: boolean;
  readonly deflated: boolean;
}

export interface Layout {
  /** Preamble + File Meta (empty for a bare dataset). */
  readonly prefix: Buffer;
  /** The dataset bytes (inflated when the file is deflated). */
  readonly dataset: Buffer;
  readonly syntax: Syntax;
  /** Every element at every depth, in file order. */
  readonly elements: readonly ElementSpan[];
  /** False when the walk stopped at bytes it could not account for. */
  readonly complete: boolean;
}

const IMPLICIT = { explicitVr: false, littleEndian: true, deflated: false };
const LONG_VRS = new Set(["OB", "OD", "OF", "OL", "OV", "OW", "SQ", "UC", "UN", "UR", "UT", "SV", "UV"]);
export const VRS = [
  "AE", "AS", "AT", "CS", "DA", "DS", "DT", "FD", "FL", "IS", "LO", "LT", "OB", "OD", "OF", "OL", "OV",
  "OW", "PN", "SH", "SL", "SQ", "SS", "ST", "SV", "TM", "UC", "UI", "UL", "UN", "UR", "US", "UT", "UV",
]; // prettier-ignore
const VR_SET = new Set(VRS);
export const ITEM = 0xfffee000;
export const ITEM_DELIMITATION = 0xfffee00d;
export const SEQUENCE_DELIMITATION = 0xfffee0dd;
export const PIXEL_DATA = 0x7fe00010;
const UNDEFINED = 0xffffffff;

export function isLongVr(vr: string): boolean {
  return LONG_VRS.has(vr);
}

export function dictionaryVr(tag: number): string | undefined {
  const hex = tag.toString(16).toUpperCase().padStart(8, "0");
  const entry = dcmjs.data.DicomMetaDictionary.dictionary[`(${hex.slice(0, 4)},${hex.slice(4)})`] as
    { vr?: string } | undefined;
  const vr = entry?.vr;
  return vr && VR_SET.has(vr.slice(0, 2)) ? vr.slice(0, 2) : undefined;
}

export function tagText(tag: number): string {
  const hex = tag.toString(16).toUpperCase().padStart(8, "0");
  return `(${hex.slice(0, 4)},${hex.slice(4)})`;
}

function syntaxOf(uid: string): Syntax | undefined {
  if (uid === "1.2.840.10008.1.2") return IMPLICIT;
  if (uid === "1.2.840.10008.1.2.2") return { explicitVr: true, littleEndian: false, deflated: false };
  if (uid === "1.2.840.10008.1.2.1.99") return { explicitVr: true, littleEndian: true, deflated: true };
  if (/^1\.2\.840\.10008\.1\.2(\.|$)/.test(uid))
    return { explicitVr: true, littleEndian: true, deflated: false };
  return undefined;
}

/** Splits a file into prefix (preamble + meta) and dataset, and walks the dataset. */
export function layoutOf(file: Buffer): Layout {
  let start = 0;
  if (file.length >= 132 && file.toString("latin1", 128, 132) === "DICM") start = 132;
  let offset = start;
  let tsUid = "";
  // File Meta: always Explicit VR Little Endian, group 0002.
  while (offset + 8 <= file.length && file.readUInt16LE(offset) === 0x0002) {
    const vr = file.toString("latin1", offset + 4, offset + 6);
    if (!VR_SET.has(vr)) break;
    const long = isLongVr(vr);
    if (long && offset + 12 > file.length) break;
    const length = long ? file.readUInt32LE(offset + 8) : file.readUInt16LE(offset + 6);
    const valueOffset = offset + (long ? 12 : 8);
    if (valueOffset + length > file.length) break;
    if (file.readUInt16LE(offset + 2) === 0x0010)
      tsUid = file.toString("latin1", valueOffset, valueOffset + length).replace(/[\0 ]+$/, "");
    offset = valueOffset + length;
  }
  let syntax: Syntax;
  if (offset === start) {
    // A bare dataset: Little Endian, explicit when the first header carries a VR.
    syntax =
      file.length >= 6 && VR_SET.has(file.toString("latin1", 4, 6))
        ? { ...IMPLICIT, explicitVr: true }
        : IMPLICIT;
  } else {
    syntax = syntaxOf(tsUid) ?? { explicitVr: true, littleEndian: true, deflated: false };
  }
  const prefix = file.subarray(0, offset);
  let dataset = file.subarray(offset);
  if (syntax.deflated) {
    try {
      dataset = zlib.inflateRawSync(dataset, { maxOutputLength: 256 * 1024 * 1024 });
    } catch {
      return { prefix, dataset, syntax, elements: [], complete: false };
    }
  }
  const elements: ElementSpan[] = [];
  const complete = walk(dataset, syntax, elements);
  return { prefix, dataset, syntax, elements, complete };
}

/** Reassembles a file from a prefix and (mutated) dataset bytes, re-deflating when the syntax says so. */
export function assemble(layout: Layout, dataset: Buffer): Buffer {
  return Buffer.concat([layout.prefix, layout.syntax.deflated ? zlib.deflateRawSync(dataset) : dataset]);
}

class Stop extends Error {}

function walk(buf: Buffer, syntax: Syntax, out: ElementSpan[]): boolean {
  const u16 = (at: number) => {
    if (at + 2 > buf.length) throw new Stop();
    return syntax.littleEndian ? buf.readUInt16LE(at) : buf.readUInt16BE(at);
  };
  const u32 = (at: number, littleEndian = syntax.littleEndian) => {
    if (at + 4 > buf.length) throw new Stop();
    return littleEndian ? buf.readUInt32LE(at) : buf.readUInt32BE(at);
  };
  const tagAt = (at: number, littleEndian = syntax.littleEndian) => {
    if (at + 4 > buf.length) throw new Stop();
    const g = littleEndian ? buf.readUInt16LE(at) : buf.readUInt16BE(at);
    const e = littleEndian ? buf.readUInt16LE(at + 2) : buf.readUInt16BE(at + 2);
    return ((g << 16) | e) >>> 0;
  };

  /** Elements from `at` to `end` (or to an Item Delimitation when `undefinedItem`); returns the end. */
  function elements(
    at: number,
    end: number,
    depth: number,
    parent: number,
    implicit: boolean,
    undefinedItem: boolean,
  ): number {
    if (depth > 200) throw new Stop();
    const le = implicit ? true : syntax.littleEndian;
    while (at < end) {
      const tag = tagAt(at, le);
      if (tag === ITEM_DELIMITATION) {
        if (!undefinedItem) throw new Stop();
        return at + 8;
      }
      if (tag === 0 && depth === 0 && buf.subarray(at, end).every((b) => b === 0)) return end;
      let vr: string;
      let lengthOffset: number;
      let lengthSize: 2 | 4;
      if (syntax.explicitVr && !implicit) {
        if (at + 6 > buf.length) throw new Stop();
        vr = buf.toString("latin1", at + 4, at + 6);
        if (!VR_SET.has(vr)) throw new Stop();
        if (isLongVr(vr)) {
          lengthOffset = at + 8;
          lengthSize = 4;
        } else {
          lengthOffset = at + 6;
          lengthSize = 2;
        }
      } else {
        vr = dictionaryVr(tag) ?? "UN";
        lengthOffset = at + 4;
        lengthSize = 4;
      }
      const length = lengthSize === 4 ? u32(lengthOffset, le) : u16(lengthOffset);
      const valueOffset = lengthOffset + lengthSize;
      const index = out.length;
      const span = {
        tag,
        vr,
        offset: at,
        lengthOffset,
        lengthSize,
        length,
        valueOffset,
        end: 0,
        depth,
        parent,
      };
      out.push(span);
      let next: number;
      if (length === UNDEFINED) {
        if (tag === PIXEL_DATA) next = fragments(valueOffset);
        else next = items(valueOffset, buf.length, depth, index, implicit || vr === "UN", true);
      } else {
        next = valueOffset + length;
        if (next > end) throw new Stop();
        if (vr === "SQ" || (vr === "UN" && dictionaryVr(tag) === "SQ" && length > 0)) {
          try {
            items(valueOffset, next, depth, index, implicit || vr === "UN", false);
          } catch (error) {
            if (vr === "SQ") throw error;
            out.length = index + 1; // a UN that is not a sequence after all: a plain value
          }
        }
      }
      (span as { end: number }).end = next;
      at = next;
    }
    if (undefinedItem) throw new Stop();
    return at;
  }

  function items(
    at: number,
    end: number,
    depth: number,
    parent: number,
    implicit: boolean,
    undefinedLength: boolean,
  ): number {
    const le = implicit ? true : syntax.littleEndian;
    while (undefinedLength || at < end) {
      const tag = tagAt(at, le);
      const length = u32(at + 4, le);
      if (tag === SEQUENCE_DELIMITATION) return at + 8;
      if (tag !== ITEM) throw new Stop();
      if (length === UNDEFINED) at = elements(at + 8, buf.length, depth + 1, parent, implicit, true);
      else {
        if (at + 8 + length > end) throw new Stop();
        elements(at + 8, at + 8 + length, depth + 1, parent, implicit, false);
        at = at + 8 + length;
      }
    }
    return at;
  }

  function fragments(at: number): number {
    for (;;) {
      const tag = tagAt(at);
      const length = u32(at + 4);
      if (tag === SEQUENCE_DELIMITATION) return at + 8;
      if (tag !== ITEM || length === UNDEFINED || at + 8 + length > buf.length) throw new Stop();
      at += 8 + length;
    }
  }

  try {
    elements(0, buf.length, 0, -1, false, false);
    return true;
  } catch (error) {
    if (error instanceof Stop || error instanceof RangeError) return false;
    throw error;
  }
}
