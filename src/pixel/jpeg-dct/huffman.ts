/**
 * Huffman tables of sequential DCT JPEG (ITU T.81): the decoding table of a DHT (Annex C, F.2.2.3 with a
 * 9-bit lookup), the optimal table for counted symbol frequencies with the 16-bit length limit (K.2), and
 * the encoder's code/size per symbol (C.2).
 */
import { PixelError } from "../errors.js";

/** A table as DHT carries it: BITS (count of codes per length 1..16, index 0 unused) and HUFFVAL. */
export interface HuffmanSpec {
  readonly bits: Uint8Array;
  readonly values: Uint8Array;
}

const LOOKUP_BITS = 9;

/** Decoding form: codes of up to 9 bits resolve with one lookup, longer ones through maxcode (F.16). */
export interface DecodeTable {
  /** Indexed by the next 9 bits: (length << 8) | symbol, 0 when the code is longer than 9 bits. */
  readonly lookup: Uint16Array;
  /** Largest code of each length (-1 when none), lengths 1..17 (17 is a sentinel). */
  readonly maxcode: Int32Array;
  /** values index of the first code of each length, minus that code. */
  readonly valoffset: Int32Array;
  readonly values: Uint8Array;
}

function corrupt(what: string): PixelError {
  return new PixelError("PIXEL_CODEC_ERROR", `JPEG ${what}`);
}

/** Code lengths and codes in canonical order (C.1, C.2); throws when the counts overflow the code space. */
function canonicalCodes(spec: HuffmanSpec): { sizes: Uint8Array; codes: Uint16Array } {
  const n = spec.values.length;
  const sizes = new Uint8Array(n);
  const codes = new Uint16Array(n);
  let code = 0;
  let k = 0;
  for (let len = 1; len <= 16; len++) {
    for (let i = 0; i < spec.bits[len]!; i++) {
      if (code >= 1 << len) throw corrupt("Huffman table has more codes than its lengths allow");
      sizes[k] = len;
      codes[k] = code;
      code++;
      k++;
    }
    code <<= 1;
  }
  return { sizes, codes };
}

export function buildDecodeTable(spec: HuffmanSpec): DecodeTable {
  const { sizes, codes } = canonicalCodes(spec);
  const lookup = new Uint16Array(1 << LOOKUP_BITS);
  const maxcode = new Int32Array(18).fill(-1);
  const valoffset = new Int32Array(18);
  let k = 0;
  for (let len = 1; len <= 16; len++) {
    const count = spec.bits[len]!;
    if (count > 0) {
      valoffset[len] = k - codes[k]!;
      maxcode[len] = codes[k + count - 1]!;
    }
    k += count;
  }
  maxcode[17] = 0x7fffffff;
  for (let i = 0; i < sizes.length; i++) {
    const len = sizes[i]!;
    if (len > LOOKUP_BITS) continue;
    const shift = LOOKUP_BITS - len;
    const base = codes[i]! << shift;
    const entry = (len << 8) | spec.values[i]!;
    for (let j = 0; j < 1 << shift; j++) lookup[base + j] = entry;
  }
  return { lookup, maxcode, valoffset, values: spec.values };
}

/** Encoding form: code and length per symbol (length 0 = the symbol has no code). */
export interface EncodeTable {
  readonly code: Uint16Array;
  readonly size: Uint8Array;
}

export function buildEncodeTable(spec: HuffmanSpec): EncodeTable {
  const { sizes, codes } = canonicalCodes(spec);
  const code = new Uint16Array(256);
  const size = new Uint8Array(256);
  for (let i = 0; i < sizes.length; i++) {
    code[spec.values[i]!] = codes[i]!;
    size[spec.values[i]!] = sizes[i]!;
  }
  return { code, size };
}

/**
 * The optimal table for symbol frequencies (K.2: Figures K.1 code sizes, K.2 counts, K.3 limit to 16
 * bits, K.4 sort), with one reserved code point so that no code is all 1-bits. `freq` has 256 entries.
 */
export function optimalSpec(freq: ArrayLike<number>): HuffmanSpec {
  const symbols: number[] = [];
  for (let s = 0; s < 256; s++) if (freq[s]! > 0) symbols.push(s);
  if (symbols.length === 0) throw corrupt("scan has a Huffman table slot with no symbols");
  symbols.push(256); // the reserved code point
  const n = symbols.length;
  const f = symbols.map((s) => (s === 256 ? 1 : freq[s]!));
  const codesize = new Int32Array(n);
  const others = new Int32Array(n).fill(-1);
  for (;;) {
    // V1: the least frequency (ties: the later entry, as in K.1); V2: the next least.
    let c1 = -1;
    let v = Infinity;
    for (let i = 0; i < n; i++)
      if (f[i]! > 0 && f[i]! <= v) {
        v = f[i]!;
        c1 = i;
      }
    let c2 = -1;
    v = Infinity;
    for (let i = 0; i < n; i++)
      if (f[i]! > 0 && f[i]! <= v && i !== c1) {
        v = f[i]!;
        c2 = i;
      }
    if (c2 < 0) break;
    f[c1] = f[c1]! + f[c2]!;
    f[c2] = 0;
    codesize[c1]!++;
    while (others[c1]! >= 0) {
      c1 = others[c1]!;
      codesize[c1]!++;
    }
    others[c1] = c2;
    codesize[c2]!++;
    while (others[c2]! >= 0) {
      c2 = others[c2]!;
      codesize[c2]!++;
    }
  }
  const bits = new Int32Array(Math.max(33, ...codesize) + 1);
  for (let i = 0; i < n; i++) if (codesize[i]! > 0) bits[codesize[i]!]!++;
  // K.3: move codes longer than 16 bits up the tree.
  for (let i = bits.length - 1; i > 16; i--) {
    while (bits[i]! > 0) {
      let j = i - 2;
      while (bits[j] === 0) j--;
      bits[i]! -= 2;
      bits[i - 1]!++;
      bits[j + 1]! += 2;
      bits[j]!--;
    }
  }
  // Remove the reserved code point from the longest length.
  let last = 16;
  while (bits[last] === 0) last--;
  bits[last]!--;
  // K.4: symbols sorted by code size (the reserved one, last among the longest, drops out).
  const order = symbols
    .map((s, i) => ({ s, size: codesize[i]! }))
    .filter((e) => e.s !== 256)
    .sort((a, b) => a.size - b.size || a.s - b.s);
  const out = new Uint8Array(17);
  for (let i = 1; i <= 16; i++) out[i] = bits[i]!;
  return { bits: out, values: Uint8Array.from(order.map((e) => e.s)) };
}
