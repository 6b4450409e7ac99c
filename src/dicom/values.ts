/** Decoding and encoding of string values (PS3.5 6.2). Only ASCII-safe operations live here. */
import { paddingByte } from "./vr.js";

/** The value as latin1 text without its trailing padding (space or NUL) or leading spaces. */
export function asciiValue(bytes: Uint8Array | undefined): string {
  if (!bytes || bytes.length === 0) return "";
  let end = bytes.length;
  while (end > 0 && (bytes[end - 1] === 0x20 || bytes[end - 1] === 0x00)) end--;
  let start = 0;
  while (start < end && bytes[start] === 0x20) start++;
  return Buffer.from(bytes.buffer, bytes.byteOffset + start, end - start).toString("latin1");
}

/** Encodes a string value and pads it to even length with the VR's padding byte. */
export function encodeValue(text: string, vr: string, encoding: BufferEncoding = "latin1"): Buffer {
  const raw = Buffer.from(text, encoding);
  if (raw.length % 2 === 0) return raw;
  const padded = Buffer.alloc(raw.length + 1, paddingByte(vr));
  raw.copy(padded);
  return padded;
}
