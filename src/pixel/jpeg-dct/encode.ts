/**
 * Entropy coding of one Huffman sequential scan (ITU T.81 F.1.2) from quantised coefficients (zig-zag
 * order, absolute DC), in two passes: `countScan` gathers the symbol frequencies of every table slot
 * the scan uses (for the optimal tables of K.2), `encodeScan` writes the bits with 0xFF00 stuffing,
 * 1-bit padding and RST markers after every `restartInterval` MCUs, exactly where the original had them.
 */
import type { EncodeTable } from "./huffman.js";
import { codecError, type Frame } from "./syntax.js";

export interface EncodeComponent {
  readonly index: number;
  readonly td: number;
  readonly ta: number;
}

/** Bits needed for |v| (the SSSS category of F.1.2.1). */
function category(v: number): number {
  return 32 - Math.clz32(v < 0 ? -v : v);
}

/** Calls `block(scanComponentIndex, offset)` for every block of the scan in coding order and `restart()` where an RST goes. */
function walk(
  frame: Frame,
  scan: readonly EncodeComponent[],
  restartInterval: number,
  block: (i: number, o: number) => void,
  restart: () => void,
): void {
  const single = scan.length === 1;
  const c0 = frame.comps[scan[0]!.index]!;
  const units = single ? c0.niW * c0.niH : frame.mcusX * frame.mcusY;
  for (let u = 0; u < units; u++) {
    if (restartInterval > 0 && u > 0 && u % restartInterval === 0) restart();
    if (single) {
      const bx = u % c0.niW;
      block(0, (((u - bx) / c0.niW) * c0.bw + bx) * 64);
    } else {
      const mx = u % frame.mcusX;
      const my = (u - mx) / frame.mcusX;
      for (let i = 0; i < scan.length; i++) {
        const c = frame.comps[scan[i]!.index]!;
        for (let y = 0; y < c.v; y++)
          for (let x = 0; x < c.h; x++) block(i, ((my * c.v + y) * c.bw + mx * c.h + x) * 64);
      }
    }
  }
}

/** Symbol counts per table slot: dc[td] and ac[ta], 256 entries each. */
export function countScan(
  frame: Frame,
  scan: readonly EncodeComponent[],
  restartInterval: number,
  coefs: readonly Int16Array[],
  ends: readonly Uint8Array[],
  dc: Int32Array[],
  ac: Int32Array[],
): void {
  const maxDc = frame.precision === 8 ? 11 : 15;
  const preds = new Int32Array(scan.length);
  walk(
    frame,
    scan,
    restartInterval,
    (i, o) => {
      const sc = scan[i]!;
      const q = coefs[sc.index]!;
      const dcFreq = dc[sc.td]!;
      const acFreq = ac[sc.ta]!;
      const s = category(q[o]! - preds[i]!);
      if (s > maxDc) throw codecError("DC difference is out of range for the sample precision");
      dcFreq[s]!++;
      preds[i] = q[o]!;
      const last = ends[sc.index]![o >> 6]!;
      let run = 0;
      for (let k = 1; k <= last; k++) {
        const v = q[o + k]!;
        if (v === 0) {
          run++;
          continue;
        }
        while (run > 15) {
          acFreq[0xf0]!++;
          run -= 16;
        }
        acFreq[(run << 4) | category(v)]!++;
        run = 0;
      }
      if (last < 63) acFreq[0]!++;
    },
    () => preds.fill(0),
  );
}

/** Appends bytes with 0xFF00 stuffing; grows as needed. */
class BitWriter {
  buf: Uint8Array;
  len = 0;
  acc = 0;
  nbits = 0;
  constructor(capacity: number) {
    this.buf = new Uint8Array(Math.max(capacity, 1024));
  }

  /** Room for n more bytes. */
  ensure(n: number): void {
    if (this.len + n <= this.buf.length) return;
    const grown = new Uint8Array(Math.max(this.buf.length * 2, this.len + n));
    grown.set(this.buf.subarray(0, this.len));
    this.buf = grown;
  }

  /** Appends `size` (<= 16) bits; the caller has ensured room for 4 bytes. */
  put(code: number, size: number): void {
    let nbits = this.nbits + size;
    const acc = (this.acc << size) | code;
    const buf = this.buf;
    while (nbits >= 8) {
      nbits -= 8;
      const byte = (acc >>> nbits) & 0xff;
      buf[this.len++] = byte;
      if (byte === 0xff) buf[this.len++] = 0;
    }
    this.acc = acc;
    this.nbits = nbits;
  }

  /** Pads the last byte with 1-bits (F.1.2.3). */
  flush(): void {
    this.ensure(4);
    if (this.nbits > 0) this.put((1 << (8 - this.nbits)) - 1, 8 - this.nbits);
    this.acc = 0;
  }

  marker(m: number): void {
    this.flush();
    this.ensure(2);
    this.buf[this.len++] = 0xff;
    this.buf[this.len++] = m;
  }
}

/** One block: DC difference, then AC run/size symbols with their bits, EOB after the last non-zero. */
function encodeBlock(
  w: BitWriter,
  q: Int16Array,
  o: number,
  last: number,
  diff: number,
  dc: EncodeTable,
  ac: EncodeTable,
): void {
  // At most 64 symbols of <= 16 + 16 bits, each byte possibly stuffed: 64 * 4 * 2 bytes.
  w.ensure(520);
  const s = category(diff);
  if (dc.size[s] === 0) throw codecError("symbol has no Huffman code");
  w.put(dc.code[s]!, dc.size[s]!);
  if (s > 0) w.put((diff < 0 ? diff - 1 : diff) & ((1 << s) - 1), s);
  let run = 0;
  for (let k = 1; k <= last; k++) {
    const v = q[o + k]!;
    if (v === 0) {
      run++;
      continue;
    }
    while (run > 15) {
      if (ac.size[0xf0] === 0) throw codecError("symbol has no Huffman code");
      w.put(ac.code[0xf0]!, ac.size[0xf0]!);
      run -= 16;
    }
    const size = category(v);
    const symbol = (run << 4) | size;
    const len = ac.size[symbol]!;
    if (len === 0) throw codecError("symbol has no Huffman code");
    w.put(ac.code[symbol]!, len);
    w.put((v < 0 ? v - 1 : v) & ((1 << size) - 1), size);
    run = 0;
  }
  if (last < 63) {
    if (ac.size[0] === 0) throw codecError("symbol has no Huffman code");
    w.put(ac.code[0]!, ac.size[0]!);
  }
}

/** The entropy-coded data of the scan (with its RST markers), using the given tables. */
export function encodeScan(
  frame: Frame,
  scan: readonly EncodeComponent[],
  restartInterval: number,
  coefs: readonly Int16Array[],
  ends: readonly Uint8Array[],
  dc: readonly EncodeTable[],
  ac: readonly EncodeTable[],
  capacity: number,
): Uint8Array {
  const w = new BitWriter(capacity);
  const preds = new Int32Array(scan.length);
  let restarts = 0;
  walk(
    frame,
    scan,
    restartInterval,
    (i, o) => {
      const sc = scan[i]!;
      const q = coefs[sc.index]!;
      encodeBlock(w, q, o, ends[sc.index]![o >> 6]!, q[o]! - preds[i]!, dc[sc.td]!, ac[sc.ta]!);
      preds[i] = q[o]!;
    },
    () => {
      w.marker(0xd0 + (restarts & 7));
      restarts++;
      preds.fill(0);
    },
  );
  w.flush();
  return w.buf.subarray(0, w.len);
}
