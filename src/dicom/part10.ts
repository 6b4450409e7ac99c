/**
 * DICOM Part 10 files (PS3.10 7.1): preamble, "DICM", File Meta Information (always Explicit VR
 * Little Endian), then the dataset in the transfer syntax the meta names.
 *
 * Raw datasets without File Meta are accepted when they are Little Endian (Implicit or Explicit VR,
 * detected from the first element header); their output is a proper Part 10 file in the detected syntax.
 */
import zlib from "node:zlib";
import { DicomParseError } from "../errors.js";
import type { ByteSource } from "./bytes.js";
import type { DataElement } from "./element.js";
import { readDataset } from "./read-dataset.js";
import { groupOf, tagOf } from "./tag.js";
import {
  EXPLICIT_LE,
  EXPLICIT_VR_LITTLE_ENDIAN,
  IMPLICIT_VR_LITTLE_ENDIAN,
  transferSyntaxOf,
  type TransferSyntax,
} from "./transfer-syntax.js";
import { asciiValue, encodeValue } from "./values.js";
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
}

export interface ReadOptions {
  /** Refuse deflated datasets that inflate past this many bytes (a deflate bomb). */
  readonly maxInflatedBytes?: number;
}

const DEFAULT_MAX_INFLATED = 1024 * 1024 * 1024;

function hasPreamble(buf: ByteSource): boolean {
  return buf.length >= 132 && buf.toString("latin1", 128, 132) === "DICM";
}

export function readPart10(buf: ByteSource, options: ReadOptions = {}): ParsedInstance {
  if (hasPreamble(buf)) return readWithMeta(buf, 132, options);
  if (buf.length >= 8 && buf.readUInt16LE(0) === 0x0002) return readWithMeta(buf, 0, options);
  return readRaw(buf);
}

function readWithMeta(buf: ByteSource, metaStart: number, options: ReadOptions): ParsedInstance {
  const metaEnd = findMetaEnd(buf, metaStart);
  const meta = readDataset(buf, EXPLICIT_LE, metaStart, metaEnd);
  const tsElement = meta.find((e) => e.tag === TRANSFER_SYNTAX_UID_TAG);
  if (!tsElement) throw new DicomParseError("File Meta has no Transfer Syntax UID (0002,0010)");
  const uid = asciiValue(tsElement.value);
  const transferSyntax = transferSyntaxOf(uid);
  if (!transferSyntax) throw new DicomParseError(`unsupported transfer syntax ${uid}`);
  if (transferSyntax.deflated) {
    const limit = options.maxInflatedBytes ?? DEFAULT_MAX_INFLATED;
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
      dataset: readDataset(inflated, transferSyntax.encoding),
      container: "part10",
    };
  }
  return {
    meta,
    transferSyntax,
    dataset: readDataset(buf, transferSyntax.encoding, metaEnd),
    container: "part10",
  };
}

/** The meta ends where group 0002 ends; the group length is optional in practice, so walk it. */
function findMetaEnd(buf: ByteSource, start: number): number {
  let offset = start;
  while (offset + 8 <= buf.length && buf.readUInt16LE(offset) === 0x0002) {
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
  return offset;
}

/** A bare dataset: Little Endian, and Explicit VR when the first header carries a VR. */
function readRaw(buf: ByteSource): ParsedInstance {
  if (buf.length < 8) throw new DicomParseError("input is too short to be DICOM");
  const group = buf.readUInt16LE(0);
  if (group === 0 || group > 0x7fe0 || (group & 1) === 1) {
    throw new DicomParseError("not DICOM: no Part 10 preamble and no plausible Little Endian dataset");
  }
  const vr = buf.toString("latin1", 4, 6);
  const uid = KNOWN_VRS.has(vr) ? EXPLICIT_VR_LITTLE_ENDIAN : IMPLICIT_VR_LITTLE_ENDIAN;
  const transferSyntax = transferSyntaxOf(uid)!;
  const dataset = readDataset(buf, transferSyntax.encoding);
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
