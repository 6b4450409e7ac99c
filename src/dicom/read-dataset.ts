/**
 * A zero-copy reader of PS3.5 datasets: element headers are decoded, values stay views into the
 * input. It understands defined and undefined lengths, nested sequences, encapsulated Pixel Data and
 * UN elements that hold Implicit VR sequences. Anything it cannot account for is a DicomParseError.
 */
import { DicomParseError } from "../errors.js";
import type { DataElement, Item } from "./element.js";
import { implicitVrOf, lookupTag } from "./dictionary.js";
import { checkValue, headerRun, mayHideHeaders, REFUSE_WHEN_BROKEN, type Broken } from "./value-check.js";
import {
  groupOf,
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
import { implicitVrFromDictionary, KNOWN_VRS, LONG_LENGTH_VRS, STRING_VRS } from "./vr.js";

const UNDEFINED_LENGTH = 0xffffffff;
/** Deeper nesting than this is hostile or broken; real data stays under ~12. */
export const MAX_DEPTH = 64;

/** Elements per instance (all depths) unless the caller says otherwise: real files have up to ~15,000. */
export const DEFAULT_MAX_ELEMENTS = 500_000;

/**
 * What the reader changed to make sense of an input that dcmtk and pydicom read (lenient reading):
 * where, which element, and what was done, never the value.
 */
export interface Repair {
  /** Byte offset of the element's header in the input (in the inflated stream for Deflated syntaxes). */
  readonly offset: number;
  readonly tag: Tag;
  readonly what: string;
}

export interface DatasetReadOptions {
  /** Repairs are appended here. */
  readonly repairs?: Repair[];
  /**
   * Anything that would be repaired is an error instead: for re-reading the product's own output,
   * which must be a conformant encoding.
   */
  readonly strict?: boolean;
  /** Check every value against its VR (value-check.ts); off for the File Meta. Default on. */
  readonly checkValues?: boolean;
  /** The top-level dataset of an instance (not File Meta, not a fragment): group 0002 is dropped. */
  readonly topLevel?: boolean;
  /** Refuse an instance with more elements (all depths) than this. */
  readonly maxElements?: number;
  /** Elements whose value holds one plausible element header (suspects of swallowing), appended here. */
  readonly suspects?: Repair[];
}

interface Cursor {
  readonly buf: ByteSource;
  offset: number;
  readonly repairs: Repair[];
  readonly suspects: Repair[];
  readonly strict: boolean;
  readonly checkValues: boolean;
  readonly topLevel: boolean;
  readonly maxElements: number;
  elements: number;
  /** Set by `leaf` for the caller to settle once the next tag is known. */
  pending: Pending | undefined;
}

/** Records a repair, or (strict) refuses: the product's own output never needs one. */
function repair(c: Cursor, offset: number, tag: Tag, what: string): void {
  if (c.strict) throw new DicomParseError(`element ${tagParen(tag)} at offset ${offset}: ${what}`);
  c.repairs.push({ offset, tag, what });
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
export function readDataset(
  buf: ByteSource,
  enc: Encoding,
  start = 0,
  end = buf.length,
  options: DatasetReadOptions = {},
): DataElement[] {
  const c: Cursor = {
    buf,
    offset: start,
    repairs: options.repairs ?? [],
    suspects: options.suspects ?? [],
    strict: options.strict ?? false,
    checkValues: options.checkValues ?? true,
    topLevel: options.topLevel ?? false,
    maxElements: options.maxElements ?? DEFAULT_MAX_ELEMENTS,
    elements: 0,
    pending: undefined,
  };
  return readElements(c, enc, end, 0, false);
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
  let unordered = false;
  let pending: Pending | undefined;
  let removed: Set<DataElement> | undefined;
  const settlePending = (nextTag: number): void => {
    if (pending && settle(c, pending, nextTag)) (removed ??= new Set()).add(pending.element);
    pending = undefined;
  };
  while (c.offset < end) {
    need(c, end, 8, "element header");
    const headerStart = c.offset;
    const tag = readTag(c, enc);
    if (tag === ITEM_DELIMITATION) {
      if (!inUndefinedItem)
        throw new DicomParseError(`unexpected Item Delimitation at offset ${headerStart}`);
      c.offset += 4; // its length, always 0
      settlePending(0xffffffff);
      return finishLevel(elements, unordered, removed);
    }
    if (tag === ITEM || tag === SEQUENCE_DELIMITATION) {
      throw new DicomParseError(`unexpected ${tagParen(tag)} at offset ${headerStart}`);
    }
    // Trailing padding some writers leave after the last element (all zero bytes) ends the dataset.
    if (tag === 0 && depth === 0 && allZero(c.buf, headerStart, end)) {
      c.offset = end;
      break;
    }
    if (tag === previous) {
      throw new DicomParseError(`element ${tagParen(tag)} at offset ${headerStart} appears twice`);
    }
    if (tag < previous) {
      // dcmtk and pydicom read such files; the output is written sorted (PS3.5 7.1).
      repair(c, headerStart, tag, "out of ascending order: sorted");
      unordered = true;
    } else {
      previous = tag;
    }
    if (++c.elements > c.maxElements) {
      throw new DicomParseError(`more than ${c.maxElements} elements: refused to bound work and memory`);
    }
    settlePending(tag);
    c.pending = undefined;
    const element = readElement(c, enc, end, depth, tag, headerStart);
    pending = c.pending;
    c.pending = undefined;
    // File Meta (group 0002) belongs before the dataset, never in it; the output's meta is rebuilt.
    if (depth === 0 && c.topLevel && groupOf(tag) === 0x0002) {
      repair(c, headerStart, tag, "File Meta element inside the dataset: dropped");
      continue;
    }
    elements.push(element);
  }
  if (inUndefinedItem) throw new DicomParseError("undefined-length item has no Item Delimitation");
  settlePending(0xffffffff);
  return finishLevel(elements, unordered, removed);
}

function finishLevel(
  elements: DataElement[],
  unordered: boolean,
  removed: Set<DataElement> | undefined,
): DataElement[] {
  // A broken value is emptied, not dropped: a Type 2 attribute (a masked Study Date "********")
  // stays present, and an empty value is valid for every VR.
  const kept = removed ? elements.map((e) => (removed.has(e) ? emptied(e) : e)) : elements;
  return unordered ? sortElements(kept) : kept;
}

function emptied(e: DataElement): DataElement {
  return { tag: e.tag, vr: e.vr, value: e.value!.subarray(0, 0), undefinedLength: false };
}

function sortElements(elements: DataElement[]): DataElement[] {
  elements.sort((a, b) => a.tag - b.tag);
  for (let i = 1; i < elements.length; i++) {
    if (elements[i]!.tag === elements[i - 1]!.tag)
      throw new DicomParseError(`element ${tagParen(elements[i]!.tag)} appears twice`);
  }
  return elements;
}

/** The dictionary's VR for a tag when it is one concrete VR (not OB/OW-style alternatives), else undefined. */
function concreteDictionaryVr(tag: Tag): string | undefined {
  const vr = lookupTag(tag)?.vr;
  return vr !== undefined && KNOWN_VRS.has(vr) && vr !== "UN" ? vr : undefined;
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
    if (!KNOWN_VRS.has(vr)) {
      // dcmtk reads an unknown VR (e.g. two NULs or spaces) with a 2-byte length; on a tag the
      // dictionary knows, the dictionary's VR says what the value is.
      const known = implicitVrFromDictionary(lookupTag(tag)?.vr);
      if (known === "UN")
        throw new DicomParseError(`element ${tagParen(tag)} at offset ${headerStart} has an unknown VR`);
      repair(
        c,
        headerStart,
        tag,
        `unknown VR bytes: read with a 2-byte length as the dictionary VR ${known}`,
      );
      length = readU16(c, enc);
      return leaf(c, enc, end, tag, known, length, headerStart);
    }
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
    if (tag === PIXEL_DATA) {
      // Encapsulated Pixel Data is OB (PS3.5 A.4); sent as UN or another VR it is written as OB.
      if (vr !== "OB") repair(c, headerStart, tag, `encapsulated Pixel Data sent as VR ${vr}: written as OB`);
      return readFragments(c, end, enc, tag, "OB");
    }
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
    if (dictionaryVr() === "SQ") {
      // A known sequence sent with another VR: it is written back as SQ, the only valid encoding.
      repair(c, headerStart, tag, `sequence sent as VR ${vr} with undefined length: written as SQ`);
      return { tag, vr: "SQ", items: readItems(c, enc, end, depth, true), undefinedLength: true };
    }
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
    const saved = [c.repairs.length, c.suspects.length, c.elements] as const;
    try {
      const items = readItems(c, IMPLICIT_LE, valueEnd, depth, false);
      return { tag, vr, items, undefinedLength: false, implicitItems: true };
    } catch (error) {
      if (!(error instanceof DicomParseError)) throw error;
      c.offset = save;
      c.repairs.length = saved[0];
      c.suspects.length = saved[1];
      c.elements = saved[2];
    }
  }
  return leaf(c, enc, end, tag, vr, length, headerStart);
}

/** Text VRs whose bytes mean the same in either byte order (a UN of such a tag can just be renamed). */
const ORDER_FREE_VRS = new Set([...STRING_VRS, "OB"]);

/**
 * A leaf value. A UN of a known tag gets its dictionary VR; a value that breaks its VR or may hide
 * swallowed headers is left in `c.pending` for the caller to settle (see `settle`).
 */
function leaf(
  c: Cursor,
  enc: Encoding,
  end: number,
  tag: Tag,
  vrRead: string,
  length: number,
  headerStart: number,
): DataElement {
  if (c.offset + length > end) {
    throw new DicomParseError(
      `element ${tagParen(tag)} at offset ${headerStart} is longer (${length}) than the bytes left (${end - c.offset})`,
    );
  }
  const value = c.buf.subarray(c.offset, c.offset + length);
  c.offset += length;
  let vr = vrRead;
  // PS3.5 6.2.2: a UN element of a tag the dictionary knows is read with the dictionary's VR. In Big
  // Endian only VRs whose bytes do not depend on byte order are renamed; the rest stay UN.
  if (vr === "UN" && enc.explicitVr) {
    const known = concreteDictionaryVr(tag);
    if (
      known !== undefined &&
      known !== "SQ" &&
      (enc.littleEndian || ORDER_FREE_VRS.has(known)) &&
      (LONG_LENGTH_VRS.has(known) || length <= 0xffff)
    ) {
      repair(c, headerStart, tag, `UN of a known attribute: read as the dictionary VR ${known}`);
      vr = known;
    }
  }
  // Pixel Data passes as it is: the decoder's business, and never removed (odd lengths are read by all).
  const element: DataElement = { tag, vr, value, undefinedLength: false };
  if (!c.checkValues || tag === PIXEL_DATA) return element;
  const broken = checkValue(vr, value) ?? contradictsDictionary(enc, tag, vr, value);
  if (broken !== undefined || (mayHideHeaders(vr, tag) && value.length >= 8))
    c.pending = { element, headerStart, broken, enc };
  return element;
}

/**
 * An explicit VR that contradicts the dictionary's one VR for a public tag: the value's meaning is
 * unknown (a tag one bit away from Accession Number, a date sent under a text attribute), so it is
 * emptied like a value that breaks its VR. Attributes the instance cannot do without are kept when
 * the value also fits the dictionary's VR; a sequence sent as bytes is never kept.
 */
function contradictsDictionary(enc: Encoding, tag: Tag, vr: string, value: Uint8Array): Broken | undefined {
  if (!enc.explicitVr || vr === "UN" || value.length === 0 || (groupOf(tag) & 1) === 1) return undefined;
  const known = concreteDictionaryVr(tag);
  if (known === undefined || known === vr) return undefined;
  return {
    problem: `VR ${vr} where the dictionary has ${known}`,
    unsafe: known === "SQ" || checkValue(known, value) !== undefined,
  };
}

/** A value to look into once the next element's tag is known (the upper end of the swallow window). */
export interface Pending {
  readonly element: DataElement;
  readonly headerStart: number;
  readonly broken: Broken | undefined;
  readonly enc: Encoding;
}

/**
 * Decides about a value that breaks its VR or may hide swallowed headers. Returns true when the
 * element's value is to be emptied (a repair); throws when the instance must be refused:
 *   - its value holds 2+ element headers in the swallow window, or one that ends where the value ends
 *     (a wrong length swallowed the elements after it: what they held would be kept under this tag);
 *   - it breaks its VR unsafely (bytes or size its VR never has) and the instance cannot do without
 *     it (REFUSE_WHEN_BROKEN).
 * A structural attribute whose value is only badly formatted (printable, e.g. "1A" as Number of
 * Frames) is kept as read, as dcmtk does: it cannot hold swallowed bytes, and decoding needs it.
 */
function settle(c: Cursor, p: Pending, nextTag: number): boolean {
  const { element, headerStart, broken } = p;
  const tag = element.tag;
  const value = element.value!;
  const upper = nextTag > tag ? nextTag : 0xffffffff;
  const found = headerRun(value, p.enc, tag, upper);
  if (found.swallows) {
    throw new DicomParseError(
      `element ${tagParen(tag)} at offset ${headerStart} (${element.vr}, ${value.length} bytes) holds ${found.run} element header(s) (${found.tags.map(tagParen).join(", ")}): its length swallows the elements after it`,
    );
  }
  if (found.patientHeader !== undefined) {
    c.suspects.push({
      offset: headerStart,
      tag: found.patientHeader,
      what: `${element.vr} value holds a header`,
    });
  }
  if (broken === undefined) return false;
  if (REFUSE_WHEN_BROKEN.has(tag)) {
    if (broken.unsafe) {
      throw new DicomParseError(
        `element ${tagParen(tag)} at offset ${headerStart} breaks its VR: ${broken.problem}`,
      );
    }
    // Nothing is changed, so this is no error in strict mode; the audit still names it.
    if (!c.strict)
      c.repairs.push({
        offset: headerStart,
        tag,
        what: `value breaks its VR (${broken.problem}): kept as read, needed to decode`,
      });
    return false;
  }
  repair(c, headerStart, tag, `value breaks its VR (${broken.problem}): emptied`);
  return true;
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
