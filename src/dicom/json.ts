/**
 * The DICOM JSON model (PS3.18 F.2) of a dataset's header, so a page can show the tag table. Bulk
 * values (Pixel Data, and other binary values over 1 KiB) are left out; small ones are InlineBinary.
 */
import { decodeText, charsetOf, DEFAULT_CHARSET, type Charset } from "./charset.js";
import type { DataElement } from "./element.js";
import { PIXEL_DATA, SPECIFIC_CHARACTER_SET, tagHex } from "./tag.js";
import type { Encoding } from "./transfer-syntax.js";
import { asciiValue } from "./values.js";
import { CHARSET_VRS, SINGLE_VALUE_TEXT_VRS, STRING_VRS } from "./vr.js";

export type DicomJson = Record<string, { vr: string; Value?: unknown[]; InlineBinary?: string }>;

const INLINE_LIMIT = 1024;

export function datasetToJson(
  elements: readonly DataElement[],
  encoding: Encoding,
  inherited: Charset = DEFAULT_CHARSET,
): DicomJson {
  const charsetElement = elements.find((e) => e.tag === SPECIFIC_CHARACTER_SET);
  const charset = charsetElement ? charsetOf(asciiValue(charsetElement.value)) : inherited;
  const out: DicomJson = {};
  for (const e of elements) {
    if ((e.tag & 0xffff) === 0) continue; // group lengths
    const vr = e.items ? "SQ" : e.vr;
    const key = tagHex(e.tag);
    if (e.items) {
      out[key] = {
        vr,
        Value: e.items.map((item) =>
          datasetToJson(
            item.elements,
            e.implicitItems ? { littleEndian: true, explicitVr: false } : encoding,
            charset,
          ),
        ),
      };
      continue;
    }
    const value = e.value;
    if (e.tag === PIXEL_DATA || e.fragments || !value || value.length === 0) {
      out[key] = { vr };
      continue;
    }
    const values = valuesOf(value, vr, encoding, charset);
    out[key] =
      values === undefined
        ? value.length <= INLINE_LIMIT
          ? { vr, InlineBinary: Buffer.from(value).toString("base64") }
          : { vr }
        : { vr, Value: values };
  }
  return out;
}

function valuesOf(value: Uint8Array, vr: string, enc: Encoding, charset: Charset): unknown[] | undefined {
  const buf = Buffer.from(value.buffer, value.byteOffset, value.byteLength);
  if (STRING_VRS.has(vr)) {
    const text =
      CHARSET_VRS.has(vr) && charset.known
        ? decodeText(value, charset).replace(/[\s\0]+$/, "")
        : asciiValue(value);
    const parts = SINGLE_VALUE_TEXT_VRS.has(vr) ? [text] : text.split("\\");
    if (vr === "PN") {
      return parts.map((p) => {
        const [Alphabetic, Ideographic, Phonetic] = p.split("=");
        return Object.fromEntries(Object.entries({ Alphabetic, Ideographic, Phonetic }).filter(([, v]) => v));
      });
    }
    if (vr === "DS" || vr === "IS")
      return parts.map((p) => (p.trim() !== "" && Number.isFinite(Number(p)) ? Number(p) : p.trim()));
    return parts.map((p) => (vr === "UI" ? p.replace(/\0/g, "") : p));
  }
  const read = (width: number, fn: (offset: number) => unknown) =>
    Array.from({ length: Math.floor(buf.length / width) }, (_, i) => fn(i * width));
  const le = enc.littleEndian;
  switch (vr) {
    case "US":
      return read(2, (o) => (le ? buf.readUInt16LE(o) : buf.readUInt16BE(o)));
    case "SS":
      return read(2, (o) => (le ? buf.readInt16LE(o) : buf.readInt16BE(o)));
    case "UL":
      return read(4, (o) => (le ? buf.readUInt32LE(o) : buf.readUInt32BE(o)));
    case "SL":
      return read(4, (o) => (le ? buf.readInt32LE(o) : buf.readInt32BE(o)));
    case "FL":
      return read(4, (o) => (le ? buf.readFloatLE(o) : buf.readFloatBE(o)));
    case "FD":
      return read(8, (o) => (le ? buf.readDoubleLE(o) : buf.readDoubleBE(o)));
    case "UV":
      return read(8, (o) => Number(le ? buf.readBigUInt64LE(o) : buf.readBigUInt64BE(o)));
    case "SV":
      return read(8, (o) => Number(le ? buf.readBigInt64LE(o) : buf.readBigInt64BE(o)));
    case "AT":
      return read(4, (o) => {
        const g = le ? buf.readUInt16LE(o) : buf.readUInt16BE(o);
        const el = le ? buf.readUInt16LE(o + 2) : buf.readUInt16BE(o + 2);
        return tagHex(((g << 16) | el) >>> 0);
      });
    default:
      return undefined; // OB, OW, OF, OD, OL, OV, UN
  }
}
