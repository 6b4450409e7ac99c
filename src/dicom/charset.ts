/**
 * Specific Character Set (0008,0005) decoding (PS3.3 C.12.1.1.2, PS3.5 6.1). Values are decoded to
 * text for the leak check and Clean Descriptors; the engine never re-encodes a value it keeps, and
 * only writes new text in an encoding the declared character set allows (see encodeText).
 */

/** Single-byte and multi-byte sets without code extensions: term -> WHATWG decoder label. */
const DIRECT: Record<string, string> = {
  "": "latin1",
  ISO_IR_6: "latin1",
  "ISO_IR 6": "latin1",
  "ISO_IR 100": "latin1",
  "ISO_IR 101": "iso-8859-2",
  "ISO_IR 109": "iso-8859-3",
  "ISO_IR 110": "iso-8859-4",
  "ISO_IR 144": "iso-8859-5",
  "ISO_IR 127": "iso-8859-6",
  "ISO_IR 126": "iso-8859-7",
  "ISO_IR 138": "iso-8859-8",
  "ISO_IR 148": "iso-8859-9",
  "ISO_IR 203": "iso-8859-15",
  "ISO_IR 166": "windows-874",
  "ISO_IR 13": "shift_jis",
  "ISO_IR 192": "utf-8",
  GB18030: "gb18030",
  GBK: "gbk",
};

/** ISO 2022 escape sequences -> how to decode the bytes that follow (PS3.3 Table C.12-3/4). */
const ESCAPES: Array<[string, { label: string; add?: number }]> = [
  ["\x1b(B", { label: "latin1" }],
  ["\x1b(J", { label: "latin1" }],
  ["\x1b)I", { label: "shift_jis" }],
  ["\x1b$B", { label: "euc-jp", add: 0x80 }],
  ["\x1b$(D", { label: "euc-jp", add: 0x80 }],
  ["\x1b-A", { label: "latin1" }],
  ["\x1b-B", { label: "iso-8859-2" }],
  ["\x1b-C", { label: "iso-8859-3" }],
  ["\x1b-D", { label: "iso-8859-4" }],
  ["\x1b-L", { label: "iso-8859-5" }],
  ["\x1b-G", { label: "iso-8859-6" }],
  ["\x1b-F", { label: "iso-8859-7" }],
  ["\x1b-H", { label: "iso-8859-8" }],
  ["\x1b-M", { label: "iso-8859-9" }],
  ["\x1b-b", { label: "iso-8859-15" }],
  ["\x1b-T", { label: "windows-874" }],
  ["\x1b$)C", { label: "euc-kr" }],
  ["\x1b$)A", { label: "gbk" }],
];

const decoders = new Map<string, TextDecoder>();
function decoder(label: string): TextDecoder {
  let d = decoders.get(label);
  if (!d) {
    d = new TextDecoder(label);
    decoders.set(label, d);
  }
  return d;
}

/** Normalises the terms of (0008,0005); a common misspelling ("ISO-IR 100") is read as meant. */
export function parseCharsetTerms(value: string): string[] {
  return value.split("\\").map((t) =>
    t
      .trim()
      .replace(/^ISO-IR/, "ISO_IR")
      .replace(/^ISO 2022-IR/, "ISO 2022 IR"),
  );
}

export interface Charset {
  readonly terms: readonly string[];
  /** Decoder label of the first term when there are no code extensions, else undefined. */
  readonly direct?: string;
  readonly iso2022: boolean;
  /** True when we know how to decode it. */
  readonly known: boolean;
}

export function charsetOf(value: string): Charset {
  const terms = parseCharsetTerms(value);
  const iso2022 = terms.some((t) => t.startsWith("ISO 2022"));
  if (!iso2022 && terms.length <= 1) {
    const direct = DIRECT[terms[0] ?? ""];
    return { terms, direct, iso2022, known: direct !== undefined };
  }
  const known = terms.every(
    (t) =>
      t === "" || /^ISO 2022 IR (6|100|101|109|110|144|127|126|138|148|203|166|13|87|159|149|58)$/.test(t),
  );
  return { terms, iso2022: true, known };
}

export const DEFAULT_CHARSET: Charset = charsetOf("");

export function decodeText(bytes: Uint8Array, charset: Charset): string {
  if (charset.direct) return decoder(charset.direct).decode(bytes);
  return decodeIso2022(bytes, charset);
}

function decodeIso2022(bytes: Uint8Array, charset: Charset): string {
  // The first term's G1 set is active at the start of each value (PS3.5 6.1.2.5.3).
  const first = charset.terms[0] ?? "";
  let current: { label: string; add?: number } = first.endsWith("IR 13")
    ? { label: "shift_jis" }
    : { label: DIRECT[first.replace("ISO 2022 ", "ISO_")] ?? "latin1" };
  let out = "";
  let start = 0;
  const flush = (end: number) => {
    if (end <= start) return;
    let chunk = bytes.subarray(start, end);
    if (current.add) chunk = chunk.map((b) => (b >= 0x21 && b <= 0x7e ? b + current.add! : b));
    out += decoder(current.label).decode(chunk);
  };
  for (let i = 0; i < bytes.length; i++) {
    if (bytes[i] !== 0x1b) continue;
    const match = ESCAPES.find(([esc]) => esc.split("").every((ch, k) => bytes[i + k] === ch.charCodeAt(0)));
    flush(i);
    if (match) {
      current = match[1];
      i += match[0].length - 1;
    }
    start = i + 1;
  }
  flush(bytes.length);
  return out;
}

/** Single-byte sets whose inverse table we build from the decoder (bytes 0x00-0xFF). */
const SINGLE_BYTE = new Set([
  "latin1",
  "iso-8859-2",
  "iso-8859-3",
  "iso-8859-4",
  "iso-8859-5",
  "iso-8859-6",
  "iso-8859-7",
  "iso-8859-8",
  "iso-8859-9",
  "iso-8859-15",
  "windows-874",
]);
const encoders = new Map<string, Map<string, number>>();

function singleByteEncoder(label: string): Map<string, number> {
  let table = encoders.get(label);
  if (!table) {
    table = new Map();
    const chars = decoder(label).decode(Uint8Array.from({ length: 256 }, (_, i) => i));
    // fatal is off, so undefined bytes decode to U+FFFD; never map that back.
    Array.from(chars).forEach((ch, byte) => {
      if (ch !== "\uFFFD" && !table!.has(ch)) table!.set(ch, byte);
    });
    encoders.set(label, table);
  }
  return table;
}

/**
 * Encodes new text so that it is valid under the declared character set, or returns undefined when
 * we cannot (the caller then empties the value rather than write bytes that contradict (0008,0005)).
 * ASCII is valid everywhere; UTF-8 and the single-byte ISO 8859 sets are encoded exactly; text with
 * other characters under a multi-byte or ISO 2022 set is not attempted.
 */
export function encodeText(text: string, charset: Charset): Buffer | undefined {
  let ascii = true;
  for (let i = 0; i < text.length && ascii; i++) ascii = text.charCodeAt(i) <= 0x7e;
  if (ascii) return Buffer.from(text, "latin1");
  if (charset.direct === "utf-8") return Buffer.from(text, "utf8");
  if (
    !charset.direct ||
    !SINGLE_BYTE.has(charset.direct) ||
    charset.terms[0] === "" ||
    charset.terms[0] === "ISO_IR 6"
  )
    return undefined;
  const table = singleByteEncoder(charset.direct);
  const out = Buffer.alloc(text.length);
  for (let i = 0; i < text.length; i++) {
    const byte = table.get(text[i]!);
    if (byte === undefined) return undefined;
    out[i] = byte;
  }
  return out;
}
