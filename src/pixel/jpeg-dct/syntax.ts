/**
 * The marker layer of a JPEG stream (ITU T.81 Annex B): segments in order with their byte ranges, the
 * extent of each scan's entropy-coded data, and the parsers of the segments the block edit needs (SOF,
 * SOS, DQT, DHT, DRI, the JFIF/Adobe markers that decide the colour space). Only Huffman sequential DCT
 * (SOF0, SOF1) is accepted; every other process throws PIXEL_UNSUPPORTED_SYNTAX.
 */
import { PixelError } from "../errors.js";
import type { HuffmanSpec } from "./huffman.js";

export const SOF0 = 0xc0;
export const SOF1 = 0xc1;
export const DHT = 0xc4;
export const SOS = 0xda;
export const DQT = 0xdb;
export const DRI = 0xdd;
const SOI = 0xd8;
const EOI = 0xd9;
const DNL = 0xdc;
const DAC = 0xcc;
const APP0 = 0xe0;
const APP14 = 0xee;
const COM = 0xfe;

export function codecError(what: string): PixelError {
  return new PixelError("PIXEL_CODEC_ERROR", `JPEG ${what}`);
}

function unsupported(what: string): PixelError {
  return new PixelError("PIXEL_UNSUPPORTED_SYNTAX", `JPEG ${what} cannot be edited in the DCT domain`);
}

/** One marker segment [start, end) including its 0xFF, marker byte and length; for SOS, its entropy data. */
export interface Segment {
  readonly marker: number;
  readonly start: number;
  readonly end: number;
  /** SOS only: the entropy-coded data (with its RST markers) runs from `end` to `dataEnd`. */
  readonly dataEnd: number;
}

function processName(marker: number): string | undefined {
  if (marker === 0xc2 || marker === 0xc6 || marker === 0xca || marker === 0xce) return "progressive DCT";
  if (marker === 0xc3 || marker === 0xc7 || marker === 0xcb || marker === 0xcf) return "lossless";
  if (marker === 0xc5) return "hierarchical (differential) DCT";
  if (marker === 0xc9) return "arithmetic-coded DCT";
  if (marker === DAC) return "arithmetic coding (DAC)";
  if (marker === 0xde || marker === 0xdf) return "hierarchical (DHP/EXP)";
  if (marker === 0xc8 || (marker >= 0xf0 && marker <= 0xfd)) return "JPEG extension marker";
  if (marker === DNL) return "number of lines in a DNL marker";
  return undefined;
}

/** The segments from SOI to EOI in order (SOI and EOI themselves are not listed). Bytes after EOI are ignored. */
export function splitSegments(b: Uint8Array): Segment[] {
  if (b.length < 4 || b[0] !== 0xff || b[1] !== SOI) throw codecError("stream does not start with SOI");
  const out: Segment[] = [];
  let pos = 2;
  for (;;) {
    if (pos + 1 >= b.length) throw codecError("stream ends before EOI");
    if (b[pos] !== 0xff) throw codecError(`marker expected at offset ${pos}`);
    while (b[pos + 1] === 0xff && pos + 2 < b.length) pos++; // fill bytes
    const marker = b[pos + 1]!;
    if (marker === EOI) return out;
    const name = processName(marker);
    if (name !== undefined) throw unsupported(name);
    const isSegment =
      marker === SOF0 ||
      marker === SOF1 ||
      marker === DHT ||
      marker === SOS ||
      marker === DQT ||
      marker === DRI ||
      marker === COM ||
      (marker >= APP0 && marker <= 0xef);
    if (!isSegment) throw codecError(`marker 0x${marker.toString(16)} is not allowed at offset ${pos}`);
    if (pos + 4 > b.length) throw codecError("segment is truncated");
    const length = (b[pos + 2]! << 8) | b[pos + 3]!;
    const end = pos + 2 + length;
    if (length < 2 || end > b.length) throw codecError("segment is truncated");
    let dataEnd = end;
    if (marker === SOS) {
      let j = end;
      for (;;) {
        if (j + 1 >= b.length) throw codecError("entropy-coded data is truncated");
        if (b[j] === 0xff) {
          const n = b[j + 1]!;
          if (n === 0 || (n >= 0xd0 && n <= 0xd7)) j += 2;
          else break;
        } else j++;
      }
      dataEnd = j;
    }
    out.push({ marker, start: pos, end, dataEnd });
    pos = dataEnd;
  }
}

export interface FrameComponent {
  readonly id: number;
  readonly h: number;
  readonly v: number;
  readonly tq: number;
  /** Blocks per line and per column in the MCU-padded grid (interleaved order covers all of them). */
  readonly bw: number;
  readonly bh: number;
  /** Blocks per line and column a non-interleaved scan of this component codes (ceil(size / 8)). */
  readonly niW: number;
  readonly niH: number;
}

export interface Frame {
  readonly marker: number;
  readonly precision: 8 | 12;
  readonly width: number;
  readonly height: number;
  readonly hmax: number;
  readonly vmax: number;
  readonly mcusX: number;
  readonly mcusY: number;
  readonly comps: readonly FrameComponent[];
}

export function parseSof(b: Uint8Array, s: Segment): Frame {
  const p = s.start + 4;
  const length = s.end - p;
  if (length < 6) throw codecError("SOF is truncated");
  const precision = b[p]!;
  const height = (b[p + 1]! << 8) | b[p + 2]!;
  const width = (b[p + 3]! << 8) | b[p + 4]!;
  const nf = b[p + 5]!;
  if (length !== 6 + 3 * nf) throw codecError("SOF length does not match its component count");
  if (s.marker === SOF0 ? precision !== 8 : precision !== 8 && precision !== 12)
    throw unsupported(`sample precision ${precision}`);
  if (height === 0) throw unsupported("number of lines in a DNL marker");
  if (width === 0) throw codecError("SOF has zero samples per line");
  if (nf !== 1 && nf !== 3) throw unsupported(`${nf} components`);
  const raw: { id: number; h: number; v: number; tq: number }[] = [];
  for (let i = 0; i < nf; i++) {
    const o = p + 6 + 3 * i;
    const id = b[o]!;
    const h = b[o + 1]! >> 4;
    const v = b[o + 1]! & 15;
    const tq = b[o + 2]!;
    if (h < 1 || h > 4 || v < 1 || v > 4 || tq > 3)
      throw codecError("SOF component parameters are out of range");
    if (raw.some((c) => c.id === id)) throw codecError("SOF repeats a component identifier");
    raw.push({ id, h, v, tq });
  }
  const hmax = Math.max(...raw.map((c) => c.h));
  const vmax = Math.max(...raw.map((c) => c.v));
  if (raw.some((c) => hmax % c.h !== 0 || vmax % c.v !== 0)) throw unsupported("fractional sampling factors");
  const mcusX = Math.ceil(width / (8 * hmax));
  const mcusY = Math.ceil(height / (8 * vmax));
  const comps = raw.map((c) => ({
    ...c,
    bw: mcusX * c.h,
    bh: mcusY * c.v,
    niW: Math.ceil(Math.ceil((width * c.h) / hmax) / 8),
    niH: Math.ceil(Math.ceil((height * c.v) / vmax) / 8),
  }));
  return { marker: s.marker, precision: precision as 8 | 12, width, height, hmax, vmax, mcusX, mcusY, comps };
}

export interface ScanHeader {
  /** Indexes into the frame's components, with their DC and AC table ids. */
  readonly comps: readonly { readonly index: number; readonly td: number; readonly ta: number }[];
}

export function parseSos(b: Uint8Array, s: Segment, frame: Frame): ScanHeader {
  const p = s.start + 4;
  const length = s.end - p;
  const ns = b[p] ?? 0;
  if (ns < 1 || ns > 4 || length !== 4 + 2 * ns)
    throw codecError("SOS length does not match its component count");
  const comps: { index: number; td: number; ta: number }[] = [];
  for (let i = 0; i < ns; i++) {
    const id = b[p + 1 + 2 * i]!;
    const index = frame.comps.findIndex((c) => c.id === id);
    if (index < 0) throw codecError("SOS names a component the frame does not have");
    if (comps.length > 0 && index <= comps[comps.length - 1]!.index)
      throw codecError("SOS components are not in frame order");
    const t = b[p + 2 + 2 * i]!;
    if (t >> 4 > 3 || (t & 15) > 3) throw codecError("SOS table selector is out of range");
    comps.push({ index, td: t >> 4, ta: t & 15 });
  }
  const q = p + 1 + 2 * ns;
  if (b[q] !== 0 || b[q + 1] !== 63 || b[q + 2] !== 0)
    throw unsupported("spectral selection or successive approximation");
  if (ns > 1) {
    const blocks = comps.reduce((a, c) => a + frame.comps[c.index]!.h * frame.comps[c.index]!.v, 0);
    if (blocks > 10) throw codecError("MCU has more than 10 blocks");
  }
  return { comps };
}

/** The first (DC) entry of each quantisation table the DQT defines. */
export function parseDqt(b: Uint8Array, s: Segment, q0: number[]): void {
  let p = s.start + 4;
  while (p < s.end) {
    const pq = b[p]! >> 4;
    const tq = b[p]! & 15;
    if (pq > 1 || tq > 3) throw codecError("DQT table parameters are out of range");
    const size = pq === 0 ? 64 : 128;
    if (p + 1 + size > s.end) throw codecError("DQT is truncated");
    q0[tq] = pq === 0 ? b[p + 1]! : (b[p + 1]! << 8) | b[p + 2]!;
    p += 1 + size;
  }
}

/** Stores the tables the DHT defines into dc[] / ac[] by their ids. */
export function parseDht(b: Uint8Array, s: Segment, dc: HuffmanSpec[], ac: HuffmanSpec[]): void {
  let p = s.start + 4;
  while (p < s.end) {
    if (p + 17 > s.end) throw codecError("DHT is truncated");
    const tc = b[p]! >> 4;
    const th = b[p]! & 15;
    if (tc > 1 || th > 3) throw codecError("DHT table parameters are out of range");
    const bits = new Uint8Array(17);
    let total = 0;
    for (let i = 1; i <= 16; i++) total += bits[i] = b[p + i]!;
    if (total > 256 || p + 17 + total > s.end) throw codecError("DHT is truncated");
    const values = b.slice(p + 17, p + 17 + total);
    (tc === 0 ? dc : ac)[th] = { bits, values };
    p += 17 + total;
  }
}

export function parseDri(b: Uint8Array, s: Segment): number {
  if (s.end - s.start !== 6) throw codecError("DRI length is not 4");
  return (b[s.start + 4]! << 8) | b[s.start + 5]!;
}

/** What libjpeg reads from APP0/APP14 to decide a 3-component stream's colour space (jdmarker.c). */
export function colourMarkers(
  b: Uint8Array,
  s: Segment,
  seen: { jfif: boolean; adobe: number | undefined },
): void {
  const p = s.start + 4;
  const length = s.end - p;
  const is = (text: string): boolean => [...text].every((ch, i) => b[p + i] === ch.charCodeAt(0));
  if (s.marker === APP0 && length >= 14 && is("JFIF\0")) seen.jfif = true;
  if (s.marker === APP14 && length >= 12 && is("Adobe")) seen.adobe = b[p + 11]!;
}

/**
 * True when a 3-component stream holds RGB rather than YCbCr, decided as libjpeg does
 * (jdapimin.c default_decompress_parms): JFIF means YCbCr; else the Adobe transform flag (0 = RGB);
 * else component ids 'R','G','B' mean RGB; anything else is taken as YCbCr.
 */
export function isRgb(frame: Frame, seen: { jfif: boolean; adobe: number | undefined }): boolean {
  if (frame.comps.length !== 3) return false;
  if (seen.jfif) return false;
  if (seen.adobe !== undefined) return seen.adobe === 0;
  const [a, b, c] = frame.comps.map((x) => x.id);
  return a === 0x52 && b === 0x47 && c === 0x42;
}
