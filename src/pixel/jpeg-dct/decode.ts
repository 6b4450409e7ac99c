/**
 * Entropy decoding of one Huffman sequential scan (ITU T.81 F.2.2) into quantised coefficients: per
 * component one Int16Array of 64 coefficients per block in the MCU-padded block grid, each block in
 * zig-zag order (the order they are coded in; nothing here needs the natural order), DC as absolute
 * values (the differences undone). Restart markers are checked (RST0..7 in sequence) and reset the DC
 * predictors. Reading past the data, a bad code, a coefficient index past 63 throw PIXEL_CODEC_ERROR.
 */
import type { DecodeTable } from "./huffman.js";
import { codecError, type Frame } from "./syntax.js";

/** Bits of the entropy-coded segment with 0xFF00 unstuffed; zeros (counted as `fake`) at a marker. */
class BitReader {
  acc = 0;
  nbits = 0;
  fake = 0;
  constructor(
    readonly b: Uint8Array,
    public pos: number,
    readonly end: number,
  ) {}

  fill(): void {
    const b = this.b;
    while (this.nbits <= 24) {
      let byte = 0;
      if (this.pos < this.end) {
        byte = b[this.pos]!;
        if (byte === 0xff) {
          if (b[this.pos + 1] === 0) this.pos += 2;
          else {
            byte = 0; // a marker: stay before it
            this.fake += 8;
          }
        } else this.pos++;
      } else this.fake += 8;
      this.acc = (this.acc << 8) | byte;
      this.nbits += 8;
    }
  }

  bits(n: number): number {
    if (this.nbits < n) this.fill();
    this.nbits -= n;
    return (this.acc >>> this.nbits) & ((1 << n) - 1);
  }

  huffman(t: DecodeTable): number {
    if (this.nbits < 16) this.fill();
    const entry = t.lookup[(this.acc >>> (this.nbits - 9)) & 511]!;
    if (entry !== 0) {
      this.nbits -= entry >> 8;
      return entry & 255;
    }
    const code16 = (this.acc >>> (this.nbits - 16)) & 0xffff;
    let len = 10;
    while (len <= 16 && code16 >> (16 - len) > t.maxcode[len]!) len++;
    if (len > 16) throw codecError("entropy-coded data holds an invalid Huffman code");
    this.nbits -= len;
    return t.values[t.valoffset[len]! + (code16 >> (16 - len))]!;
  }

  /** True when more bits were taken than the segment holds. */
  overrun(): boolean {
    return this.nbits < this.fake;
  }

  /** Drops the partial byte and finds the marker at the end of this interval; returns its code. */
  marker(): number {
    const b = this.b;
    // Whole bytes still unread before the marker are extraneous (libjpeg skips them too).
    let p = this.pos;
    while (p < this.end && !(b[p] === 0xff && b[p + 1] !== 0)) p += b[p] === 0xff ? 2 : 1;
    while (b[p + 1] === 0xff && p + 2 < this.end) p++;
    if (p >= this.end) return -1;
    this.pos = p + 2;
    this.acc = 0;
    this.nbits = 0;
    this.fake = 0;
    return b[p + 1]!;
  }
}

function extend(v: number, s: number): number {
  return v < 1 << (s - 1) ? v - (1 << s) + 1 : v;
}

/**
 * One block: DC difference then AC run/size pairs (F.2.2.1, F.2.2.2). Records the index of the last
 * non-zero AC coefficient in ends[block] (0: none). Returns the new DC predictor.
 */
function decodeBlock(
  r: BitReader,
  dc: DecodeTable,
  ac: DecodeTable,
  out: Int16Array,
  o: number,
  pred: number,
  ends: Uint8Array,
): number {
  const t = r.huffman(dc);
  if (t > 15) throw codecError("DC difference category is out of range");
  const value = pred + (t === 0 ? 0 : extend(r.bits(t), t));
  if (value < -32768 || value > 32767) throw codecError("DC coefficient is out of range");
  out[o] = value;
  let last = 0;
  for (let k = 1; k < 64;) {
    const rs = r.huffman(ac);
    const s = rs & 15;
    const run = rs >> 4;
    if (s === 0) {
      if (run !== 15) break; // EOB
      k += 16;
      if (k > 64) throw codecError("AC run passes coefficient 63");
      continue;
    }
    k += run;
    if (k > 63) throw codecError("AC run passes coefficient 63");
    out[o + k] = extend(r.bits(s), s);
    last = k;
    k++;
  }
  ends[o >> 6] = last;
  return value;
}

export interface ScanComponent {
  /** Index into frame.comps. */
  readonly index: number;
  readonly dc: DecodeTable;
  readonly ac: DecodeTable;
}

/** Decodes the scan whose entropy data is b[start, end) into coefs[component index] (and ends[]). */
export function decodeScan(
  b: Uint8Array,
  start: number,
  end: number,
  frame: Frame,
  scan: readonly ScanComponent[],
  restartInterval: number,
  coefs: Int16Array[],
  ends: Uint8Array[],
): void {
  const r = new BitReader(b, start, end);
  const preds = new Int32Array(scan.length);
  const single = scan.length === 1;
  const first = frame.comps[scan[0]!.index]!;
  const units = single ? first.niW * first.niH : frame.mcusX * frame.mcusY;
  let restarts = 0;
  for (let u = 0; u < units; u++) {
    if (restartInterval > 0 && u > 0 && u % restartInterval === 0) {
      const m = r.marker();
      if (m !== 0xd0 + (restarts & 7)) throw codecError("restart marker is missing or out of sequence");
      restarts++;
      preds.fill(0);
    }
    if (single) {
      const sc = scan[0]!;
      const c = first;
      const bx = u % c.niW;
      const by = (u - bx) / c.niW;
      preds[0] = decodeBlock(
        r,
        sc.dc,
        sc.ac,
        coefs[sc.index]!,
        (by * c.bw + bx) * 64,
        preds[0]!,
        ends[sc.index]!,
      );
    } else {
      const mx = u % frame.mcusX;
      const my = (u - mx) / frame.mcusX;
      for (let i = 0; i < scan.length; i++) {
        const sc = scan[i]!;
        const c = frame.comps[sc.index]!;
        const out = coefs[sc.index]!;
        const end = ends[sc.index]!;
        for (let y = 0; y < c.v; y++)
          for (let x = 0; x < c.h; x++) {
            const o = ((my * c.v + y) * c.bw + mx * c.h + x) * 64;
            preds[i] = decodeBlock(r, sc.dc, sc.ac, out, o, preds[i]!, end);
          }
      }
    }
    if (r.overrun()) throw codecError("entropy-coded data is truncated");
  }
}
