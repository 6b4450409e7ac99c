/**
 * DICOM Part 10 files (PS3.10 7.1): preamble, "DICM", File Meta Information (always Explicit VR
 * Little Endian), then the dataset in the transfer syntax the meta names.
 *
 * Raw datasets without File Meta are accepted (Implicit VR Little Endian, Explicit VR Little or Big
 * Endian, detected from the first element header); their output is a proper Part 10 file in the
 * detected syntax.
 *
 * Reading is lenient where dcmtk and pydicom are and the meaning is unambiguous; each such repair is
 * returned in `repairs` (the engine audits them). `strict` turns every repair into an error: the
 * product's own output is re-read that way.
 */
import zlib from "node:zlib";
import { DicomParseError } from "../errors.js";
import type { ByteSource } from "./bytes.js";
import type { DataElement } from "./element.js";
import { readDataset, type DatasetReadOptions, type Repair } from "./read-dataset.js";
import { groupOf, PIXEL_DATA, tagOf, tagParen } from "./tag.js";
import { PATIENT_ATTRIBUTES } from "./value-check.js";
import {
  EXPLICIT_LE,
  EXPLICIT_VR_BIG_ENDIAN,
  EXPLICIT_VR_LITTLE_ENDIAN,
  IMPLICIT_VR_LITTLE_ENDIAN,
  transferSyntaxOf,
  type TransferSyntax,
} from "./transfer-syntax.js";
import { asciiValue, encodeValue } from "./values.js";
import { isValidUid } from "./uid.js";
import { KNOWN_VRS, LONG_LENGTH_VRS } from "./vr.js";
import { writeDataset, writeDatasetChunks, type Allocator } from "./write-dataset.js";

export const IMPLEMENTATION_CLASS_UID = "2.25.97690530444555077409302691112664103315";
export const IMPLEMENTATION_VERSION_NAME = "DWANON_0_1";

export const TRANSFER_SYNTAX_UID_TAG = tagOf(0x0002, 0x0010);

export interface ParsedInstance {
  /** File Meta elements as read; empty for a raw dataset. */
  readonly meta: readonly DataElement[];
  readonly transferSyntax: TransferSyntax;
  readonly dataset: readonly DataElement[];
  /** How the input arrived: a Part 10 file or a bare dataset. */
  readonly container: "part10" | "raw";
  /** What lenient reading changed (never values); empty for a conformant input. */
  readonly repairs: readonly Repair[];
}

export interface ReadOptions {
  /** Refuse deflated datasets that inflate past this many bytes (a deflate bomb). */
  readonly maxInflatedBytes?: number;
  /**
   * Refuse deflated datasets that inflate to more than this many times their deflated size (plus
   * MIN_INFLATE_ALLOWANCE), so memory stays in proportion to what was sent.
   */
  readonly maxInflateRatio?: number;
  /** Refuse instances with more elements than this (all depths). */
  readonly maxElements?: number;
  /** Every repair is an error, and the encoding must be strictly valid (see checkEncoding). */
  readonly strict?: boolean;
}

const DEFAULT_MAX_INFLATED = 256 * 1024 * 1024;
/**
 * Deflate reaches ~1000:1 on zeros; real DICOM (images, SR, waveforms) deflates 2-20:1 and blank
 * images up to a few hundred. 200:1 plus a 64 MiB allowance passes every real file with a wide margin
 * and caps a 917 KB bomb at ~240 MiB instead of 1 GiB.
 */
export const DEFAULT_MAX_INFLATE_RATIO = 200;
export const MIN_INFLATE_ALLOWANCE = 64 * 1024 * 1024;

function hasPreamble(buf: ByteSource): boolean {
  return buf.length >= 132 && buf.toString("latin1", 128, 132) === "DICM";
}

export function readPart10(buf: ByteSource, options: ReadOptions = {}): ParsedInstance {
  const repairs: Repair[] = [];
  const suspects: Repair[] = [];
  const datasetOptions: DatasetReadOptions = {
    repairs,
    suspects,
    strict: options.strict ?? false,
    topLevel: true,
    ...(options.maxElements !== undefined ? { maxElements: options.maxElements } : {}),
  };
  let parsed: Omit<ParsedInstance, "repairs">;
  if (hasPreamble(buf)) parsed = readWithMeta(buf, 132, options, datasetOptions);
  else if (buf.length >= 8 && buf.readUInt16LE(0) === 0x0002)
    parsed = readWithMeta(buf, 0, options, datasetOptions);
  else parsed = readRaw(buf, datasetOptions);
  // One plausible element header inside a value is a coincidence, unless it is the header of a
  // patient attribute that is missing: then that value may have swallowed it, and the instance is refused.
  for (const s of suspects) {
    if (PATIENT_ATTRIBUTES.includes(s.tag) && !parsed.dataset.some((e) => e.tag === s.tag)) {
      throw new DicomParseError(
        `a value at offset ${s.offset} holds the header of ${tagParen(s.tag)}, which is missing: a wrong length may have swallowed it`,
      );
    }
  }
  checkEncoding(parsed);
  return { ...parsed, repairs };
}

/**
 * The dataset is a valid encoding of its transfer syntax (PS3.5 A.4): Pixel Data is encapsulated
 * (fragments, undefined length) exactly when the syntax is, and nothing but a sequence, a UN sequence
 * or encapsulated Pixel Data has an undefined length (the reader guarantees that for what it reads).
 */
export function checkEncoding(parsed: Pick<ParsedInstance, "dataset" | "transferSyntax">): void {
  const pixel = parsed.dataset.find((e) => e.tag === PIXEL_DATA);
  if (pixel) {
    if (parsed.transferSyntax.encapsulated && !pixel.fragments) {
      throw new DicomParseError(
        `Pixel Data (7FE0,0010) is native with a defined length, but transfer syntax ${parsed.transferSyntax.uid} is encapsulated`,
      );
    }
    if (!parsed.transferSyntax.encapsulated && pixel.fragments) {
      throw new DicomParseError(
        `Pixel Data (7FE0,0010) is encapsulated, but transfer syntax ${parsed.transferSyntax.uid} is native`,
      );
    }
  }
  checkUndefinedLengths(parsed.dataset);
}

function checkUndefinedLengths(elements: readonly DataElement[]): void {
  for (const e of elements) {
    if (e.undefinedLength && !(e.vr === "SQ" || e.vr === "UN" || (e.tag === PIXEL_DATA && e.fragments))) {
      throw new DicomParseError(`element ${tagParen(e.tag)} (${e.vr}) has an undefined length`);
    }
    if (e.items) for (const item of e.items) checkUndefinedLengths(item.elements);
  }
}

function inflateLimit(deflatedBytes: number, options: ReadOptions): number {
  const cap = options.maxInflatedBytes ?? DEFAULT_MAX_INFLATED;
  const ratio = options.maxInflateRatio ?? DEFAULT_MAX_INFLATE_RATIO;
  return Math.min(cap, MIN_INFLATE_ALLOWANCE + ratio * deflatedBytes);
}

function readWithMeta(
  buf: ByteSource,
  metaStart: number,
  options: ReadOptions,
  datasetOptions: DatasetReadOptions,
): Omit<ParsedInstance, "repairs"> {
  const metaEnd = findMetaEnd(buf, metaStart);
  const meta = readDataset(buf, EXPLICIT_LE, metaStart, metaEnd, {
    strict: options.strict ?? false,
    checkValues: false,
  });
  const tsElement = meta.find((e) => e.tag === TRANSFER_SYNTAX_UID_TAG);
  if (!tsElement) throw new DicomParseError("File Meta has no Transfer Syntax UID (0002,0010)");
  const uid = asciiValue(tsElement.value);
  const transferSyntax = transferSyntaxOf(uid);
  if (!transferSyntax) {
    // A standard transfer syntax UID names the problem; anything else may be bytes a wrong length
    // pulled in from the dataset (a name, an ID), so it is never echoed.
    const named = uid.startsWith("1.2.840.10008.1.2") && isValidUid(uid);
    throw new DicomParseError(
      named
        ? `unsupported transfer syntax ${uid}`
        : "File Meta names a transfer syntax that is not a known UID",
    );
  }
  if (transferSyntax.deflated) {
    const limit = inflateLimit(buf.length - metaEnd, options);
    let inflated: Buffer;
    try {
      inflated = zlib.inflateRawSync(buf.subarray(metaEnd, buf.length), { maxOutputLength: limit });
    } catch (error) {
      const code = (error as { code?: string }).code;
      if (code === "ERR_BUFFER_TOO_LARGE")
        throw new DicomParseError(`deflated dataset inflates past ${limit} bytes`);
      throw new DicomParseError("deflated dataset is not a valid deflate stream");
    }
    return {
      meta,
      transferSyntax,
      dataset: readDataset(inflated, transferSyntax.encoding, 0, inflated.length, datasetOptions),
      container: "part10",
    };
  }
  return {
    meta,
    transferSyntax,
    dataset: readDataset(buf, transferSyntax.encoding, metaEnd, buf.length, datasetOptions),
    container: "part10",
  };
}

/** The meta ends where group 0002 ends; the group length is optional in practice, so walk it. */
function findMetaEnd(buf: ByteSource, start: number): number {
  let offset = start;
  const boundaries = new Set<number>();
  while (offset + 8 <= buf.length && buf.readUInt16LE(offset) === 0x0002) {
    boundaries.add(offset);
    const vr = buf.toString("latin1", offset + 4, offset + 6);
    if (!KNOWN_VRS.has(vr))
      throw new DicomParseError(`File Meta element at offset ${offset} is not Explicit VR`);
    const long = LONG_LENGTH_VRS.has(vr);
    if (long && offset + 12 > buf.length) throw new DicomParseError("File Meta is truncated");
    const length = long ? buf.readUInt32LE(offset + 8) : buf.readUInt16LE(offset + 6);
    offset += (long ? 12 : 8) + length;
    if (offset > buf.length) throw new DicomParseError("File Meta is truncated");
  }
  if (offset === start) throw new DicomParseError("File Meta Information is empty");
  // When File Meta Information Group Length (0002,0000) ends the meta at an element boundary before the
  // group ends, what follows is group 0002 repeated in the dataset (dcmtk reads the meta by its group
  // length too); the dataset reader drops it as a repair.
  if (
    buf.readUInt32LE(start) === 0x00000002 &&
    buf.toString("latin1", start + 4, start + 6) === "UL" &&
    buf.readUInt16LE(start + 6) === 4
  ) {
    const declared = start + 12 + buf.readUInt32LE(start + 8);
    if (declared < offset && boundaries.has(declared)) return declared;
  }
  return offset;
}

/**
 * A bare dataset: Explicit VR when the first header carries a VR; Big Endian when its group only makes
 * sense read that way (a dataset starts with a low group, 0008 typically: bytes 00 08 read as Little
 * Endian give 0800, which no dataset starts with). Implicit VR Big Endian does not exist.
 */
function readRaw(buf: ByteSource, datasetOptions: DatasetReadOptions): Omit<ParsedInstance, "repairs"> {
  if (buf.length < 8) throw new DicomParseError("input is too short to be DICOM");
  const group = buf.readUInt16LE(0);
  const vr = buf.toString("latin1", 4, 6);
  const explicit = KNOWN_VRS.has(vr);
  const groupBE = buf.readUInt16BE(0);
  const bigEndian = explicit && group > 0x00ff && groupBE > 0 && groupBE <= 0x00ff && (groupBE & 1) === 0;
  if (!bigEndian && (group === 0 || group > 0x7fe0 || (group & 1) === 1)) {
    throw new DicomParseError("not DICOM: no Part 10 preamble and no plausible dataset");
  }
  const uid = bigEndian
    ? EXPLICIT_VR_BIG_ENDIAN
    : explicit
      ? EXPLICIT_VR_LITTLE_ENDIAN
      : IMPLICIT_VR_LITTLE_ENDIAN;
  const transferSyntax = transferSyntaxOf(uid)!;
  if (bigEndian) {
    if (datasetOptions.strict) throw new DicomParseError("raw Big Endian dataset without File Meta");
    datasetOptions.repairs?.push({
      offset: 0,
      tag: tagOf(groupBE, buf.readUInt16BE(2)),
      what: "dataset without File Meta is Explicit VR Big Endian: read and written as such",
    });
  }
  const dataset = readDataset(buf, transferSyntax.encoding, 0, buf.length, datasetOptions);
  if (groupOf(dataset[0]?.tag ?? 0) === 0) throw new DicomParseError("not DICOM: empty dataset");
  return { meta: [], transferSyntax, dataset, container: "raw" };
}

export interface WriteInput {
  readonly dataset: readonly DataElement[];
  readonly transferSyntax: TransferSyntax;
  readonly sopClassUid: string;
  readonly sopInstanceUid: string;
}

function metaElement(element: number, vr: string, value: Uint8Array): DataElement {
  return { tag: tagOf(0x0002, element), vr, value, undefinedLength: false };
}

/** Rebuilds the File Meta (PS3.10 7.1) for the de-identified dataset; nothing of the input meta is kept. */
export function buildFileMeta(input: Omit<WriteInput, "dataset">): DataElement[] {
  const body = [
    metaElement(0x0001, "OB", Uint8Array.of(0x00, 0x01)),
    metaElement(0x0002, "UI", encodeValue(input.sopClassUid, "UI")),
    metaElement(0x0003, "UI", encodeValue(input.sopInstanceUid, "UI")),
    metaElement(0x0010, "UI", encodeValue(input.transferSyntax.uid, "UI")),
    metaElement(0x0012, "UI", encodeValue(IMPLEMENTATION_CLASS_UID, "UI")),
    metaElement(0x0013, "SH", encodeValue(IMPLEMENTATION_VERSION_NAME, "SH")),
  ];
  const { buf } = writeDataset(body, EXPLICIT_LE);
  const groupLength = Buffer.alloc(4);
  groupLength.writeUInt32LE(buf.length);
  return [metaElement(0x0000, "UL", groupLength), ...body];
}

function preambleAndMeta(input: Omit<WriteInput, "dataset">): Buffer {
  const meta = writeDataset(buildFileMeta(input), EXPLICIT_LE, 132).buf;
  meta.fill(0, 0, 128);
  meta.write("DICM", 128, "latin1");
  return meta;
}

/**
 * The file as chunks: values of at least `bulkThreshold` bytes stay views of their source (the
 * input), so a large instance is never copied; write the chunks with writev.
 */
export function writePart10Chunks(input: WriteInput, bulkThreshold: number, allocate?: Allocator): Buffer[] {
  const meta = preambleAndMeta(input);
  if (input.transferSyntax.deflated) {
    const body = writeDataset(input.dataset, input.transferSyntax.encoding).buf;
    return [meta, zlib.deflateRawSync(body)];
  }
  const chunks = writeDatasetChunks(
    input.dataset,
    input.transferSyntax.encoding,
    meta.length,
    bulkThreshold,
    allocate,
  );
  meta.copy(chunks[0]!, 0);
  return chunks;
}

export function writePart10(input: WriteInput, allocate?: Allocator): Buffer {
  const meta = preambleAndMeta(input);
  if (input.transferSyntax.deflated) {
    const body = writeDataset(input.dataset, input.transferSyntax.encoding).buf;
    return Buffer.concat([meta, zlib.deflateRawSync(body)]);
  }
  // Reserve room for the meta in front of the dataset so the (possibly huge) body is written once.
  const { buf } = writeDataset(input.dataset, input.transferSyntax.encoding, meta.length, allocate);
  meta.copy(buf, 0);
  return buf;
}
