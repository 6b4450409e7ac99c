/**
 * A decoded frame as an 8-bit RGB image, roughly what a viewer shows: the text detector's input.
 * Monochrome frames wider than 8 bits go through the header's grey pipeline when it has one (Rescale
 * Slope/Intercept, then the first VOI LUT or the first Window Center/Width, PS3.3 C.11.2), else
 * through a percentile window of the samples that are not Pixel Padding; 8-bit frames are stretched
 * min-max; MONOCHROME1 is inverted; PALETTE COLOR is looked
 * up; colour samples are scaled to 8 bits (YBR_FULL converted to RGB).
 */
import type { DataElement } from "../dicom/element.js";
import { tagOf } from "../dicom/tag.js";
import { asciiValue } from "../dicom/values.js";
import type { PixelModule } from "./module.js";

export interface RgbImage {
  readonly width: number;
  readonly height: number;
  /** width * height * 3 bytes, interleaved R, G, B. */
  readonly data: Uint8Array;
}

/** The header's grey-level pipeline of a monochrome image (what a viewer applies before display). */
export interface Voi {
  readonly slope: number;
  readonly intercept: number;
  /** The first VOI LUT of (0028,3010): first mapped value, output bits, entries. Wins over a window. */
  readonly lut?: { readonly first: number; readonly bits: number; readonly data: Uint16Array };
  /** The first Window Center / Width pair and VOI LUT Function (LINEAR, LINEAR_EXACT, SIGMOID). */
  readonly window?: { readonly center: number; readonly width: number; readonly fn: string };
  /** Pixel Padding Value (and Range Limit) as stored values, left out of the percentile window. */
  readonly padding?: { readonly lo: number; readonly hi: number };
}

const WINDOW_CENTER = tagOf(0x0028, 0x1050);
const WINDOW_WIDTH = tagOf(0x0028, 0x1051);
const RESCALE_INTERCEPT = tagOf(0x0028, 0x1052);
const RESCALE_SLOPE = tagOf(0x0028, 0x1053);
const VOI_LUT_FUNCTION = tagOf(0x0028, 0x1056);
const VOI_LUT_SEQUENCE = tagOf(0x0028, 0x3010);
const LUT_DESCRIPTOR = tagOf(0x0028, 0x3002);
const LUT_DATA = tagOf(0x0028, 0x3006);
const PIXEL_PADDING_VALUE = tagOf(0x0028, 0x0120);
const PIXEL_PADDING_RANGE_LIMIT = tagOf(0x0028, 0x0121);

function find(ds: readonly DataElement[], tag: number): DataElement | undefined {
  return ds.find((e) => e.tag === tag);
}

/** The first value of a DS/IS element, when it is a finite number. */
function firstNumber(ds: readonly DataElement[], tag: number): number | undefined {
  const text = asciiValue(find(ds, tag)?.value).split("\\")[0]!.trim();
  if (text === "") return undefined;
  const n = Number(text);
  return Number.isFinite(n) ? n : undefined;
}

function u16(v: Uint8Array, i: number, le: boolean): number {
  return le ? v[2 * i]! | (v[2 * i + 1]! << 8) : (v[2 * i]! << 8) | v[2 * i + 1]!;
}

/** A US/SS value as the pixel representation reads it. */
function us(v: Uint8Array | undefined, le: boolean, signed: boolean): number | undefined {
  if (!v || v.length < 2) return undefined;
  const n = u16(v, 0, le);
  return signed && n >= 0x8000 ? n - 0x10000 : n;
}

/** Reads the grey pipeline from the header; anything malformed is left out (the percentile window is used). */
export function voiOf(ds: readonly DataElement[], littleEndian: boolean, signed: boolean): Voi {
  const slope = firstNumber(ds, RESCALE_SLOPE);
  const intercept = firstNumber(ds, RESCALE_INTERCEPT) ?? 0;
  const voi: {
    slope: number;
    intercept: number;
    lut?: Voi["lut"];
    window?: Voi["window"];
    padding?: Voi["padding"];
  } = { slope: slope && slope !== 0 ? slope : 1, intercept };
  const item = find(ds, VOI_LUT_SEQUENCE)?.items?.[0]?.elements;
  const descriptor = item && find(item, LUT_DESCRIPTOR)?.value;
  const data = item && find(item, LUT_DATA)?.value;
  if (descriptor && descriptor.length >= 6 && data) {
    // Items of a UN sequence are little endian; otherwise the dataset's byte order.
    const n = u16(descriptor, 0, littleEndian) || 65536;
    const first = us(descriptor.subarray(2, 4), littleEndian, signed)!;
    const bits = u16(descriptor, 2, littleEndian);
    if (bits >= 8 && bits <= 16 && data.length >= 2 * n) {
      const entries = new Uint16Array(n);
      for (let i = 0; i < n; i++) entries[i] = u16(data, i, littleEndian);
      voi.lut = { first, bits, data: entries };
    }
  }
  const center = firstNumber(ds, WINDOW_CENTER);
  const width = firstNumber(ds, WINDOW_WIDTH);
  if (center !== undefined && width !== undefined && width >= 1) {
    const fn = asciiValue(find(ds, VOI_LUT_FUNCTION)?.value).trim().toUpperCase() || "LINEAR";
    voi.window = { center, width, fn };
  }
  const pad = us(find(ds, PIXEL_PADDING_VALUE)?.value, littleEndian, signed);
  if (pad !== undefined) {
    const limit = us(find(ds, PIXEL_PADDING_RANGE_LIMIT)?.value, littleEndian, signed) ?? pad;
    voi.padding = { lo: Math.min(pad, limit), hi: Math.max(pad, limit) };
  }
  return voi;
}

function sampleAt(f: Uint8Array, o: number, px: PixelModule): number {
  const bps = px.bitsAllocated / 8;
  let v = 0;
  for (let i = bps - 1; i >= 0; i--) v = v * 256 + f[o + i]!;
  const mask = 2 ** px.bitsStored;
  v %= mask;
  if (px.signed && v >= mask / 2) v -= mask;
  return v;
}

/**
 * Every sample of a monochrome frame as its stored value (masked to Bits Stored, sign-extended);
 * plain 8-bit samples are their own values.
 */
function storedValues(frame: Uint8Array, px: PixelModule, n: number): Int32Array | Uint8Array {
  const bits = px.bitsStored;
  if (px.bitsAllocated === 8 && bits === 8 && !px.signed) return frame.subarray(0, n);
  const values = new Int32Array(n);
  if (px.bitsAllocated > 16 || bits > 16) {
    for (let i = 0; i < n; i++) values[i] = sampleAt(frame, i * (px.bitsAllocated / 8), px);
    return values;
  }
  const mask = (1 << bits) - 1;
  const sign = px.signed ? 1 << (bits - 1) : 0;
  if (px.bitsAllocated === 8) for (let i = 0; i < n; i++) values[i] = frame[i]! & mask;
  else for (let i = 0; i < n; i++) values[i] = (frame[2 * i]! | (frame[2 * i + 1]! << 8)) & mask;
  if (sign) for (let i = 0; i < n; i++) if (values[i]! & sign) values[i] = values[i]! - (mask + 1);
  return values;
}

/** Stored values -> 0-255 grey levels through the header's VOI, or null when it has none. */
function voiMapping(voi: Voi | undefined): ((stored: number) => number) | null {
  if (!voi) return null;
  const { slope, intercept, lut, window } = voi;
  if (lut) {
    const top = lut.data.length - 1;
    const scale = 255 / (2 ** lut.bits - 1);
    return (v) => {
      const k = Math.min(Math.max(Math.round(v * slope + intercept - lut.first), 0), top);
      return Math.min(255, lut.data[k]! * scale);
    };
  }
  if (!window) return null;
  const { center: c, width: w, fn } = window;
  if (fn === "SIGMOID") return (v) => 255 / (1 + Math.exp((-4 * (v * slope + intercept - c)) / w));
  if (fn === "LINEAR_EXACT") return (v) => ((v * slope + intercept - (c - w / 2)) / w) * 255;
  if (w < 2) return null;
  return (v) => ((v * slope + intercept - (c - 0.5)) / (w - 1) + 0.5) * 255;
}

/**
 * The grey level of every stored value (index: value - the smallest storable one; at most 2^16
 * entries, wider data clamped to it): through the header's VOI for wide data, else a percentile
 * window of the non-padding samples (min-max for 8-bit data); MONOCHROME1 inverted.
 */
function greyTable(values: Int32Array | Uint8Array, px: PixelModule, voi: Voi | undefined): Uint8Array {
  const bits = Math.min(px.bitsStored, 16);
  const min = px.signed ? -(2 ** (bits - 1)) : 0;
  const size = 2 ** bits;
  const top = size - 1;
  // The header's VOI for wide data only (CT/MR/MG/DX need it to look like anatomy, not noise);
  // 8-bit frames (screens, ultrasound) keep their min-max stretch, which a narrow header window
  // could only make less revealing.
  let map = px.bitsStored > 8 ? voiMapping(voi) : null;
  if (!map) {
    const { hist, kept } = histogram(values, min, top, voi?.padding);
    // Wide data: a 0.5-99.5 percentile window of the samples that are not padding, so the padding
    // (e.g. -2000 around a CT's circle) does not squeeze the anatomy into a few grey levels;
    // 8-bit data: its min-max.
    const [qlo, qhi] = px.bitsStored > 8 ? [0.005, 0.995] : [0, 1];
    let lo = 0;
    let hi = top;
    let acc = 0;
    let foundLo = false;
    for (let k = 0; k < size; k++) {
      if (hist[k] === 0) continue;
      acc += hist[k]!;
      if (!foundLo && acc > Math.floor(kept * qlo)) {
        lo = k;
        foundLo = true;
      }
      if (acc > Math.min(kept - 1, Math.floor(kept * qhi))) {
        hi = k;
        break;
      }
    }
    const scale = hi > lo ? 255 / (hi - lo) : 0;
    const base = lo + min;
    map = (v) => (v - base) * scale;
  }
  const table = new Uint8Array(size);
  const invert = px.photometric === "MONOCHROME1";
  for (let k = 0; k < size; k++) {
    const g = Math.min(255, Math.max(0, Math.round(map(k + min))));
    table[k] = invert ? 255 - g : g;
  }
  return table;
}

/**
 * Counts per value (index: value - min, clamped to 0..top) of the samples outside the padding
 * range; all samples when every one is padding. Four interleaved counters, summed at the end: a
 * run of equal samples (an ultrasound's black) would otherwise wait on one counter's last store.
 */
function histogram(
  values: Int32Array | Uint8Array,
  min: number,
  top: number,
  pad: { readonly lo: number; readonly hi: number } | undefined,
): { hist: Float64Array; kept: number } {
  const n = values.length;
  const lanes = new Uint32Array(4 * (top + 1));
  let kept = 0;
  for (let i = 0; i < n; i++) {
    const v = values[i]!;
    if (pad && v >= pad.lo && v <= pad.hi) continue;
    const j = v - min;
    const k = 4 * (j < 0 ? 0 : j > top ? top : j) + (i & 3);
    lanes[k] = lanes[k]! + 1;
    kept++;
  }
  if (kept === 0) return histogram(values, min, top, undefined);
  const hist = new Float64Array(top + 1);
  for (let k = 0; k <= top; k++)
    hist[k] = lanes[4 * k]! + lanes[4 * k + 1]! + lanes[4 * k + 2]! + lanes[4 * k + 3]!;
  return { hist, kept };
}

/** Grey RGB pixels of stored values through `table` (greyTable's): four pixels in three words. */
function paintGrey(
  values: Int32Array | Uint8Array,
  table: Uint8Array,
  px: PixelModule,
  data: Uint8Array,
): void {
  const min = px.signed ? -(2 ** (Math.min(px.bitsStored, 16) - 1)) : 0;
  const top = table.length - 1;
  const grey = (i: number): number => {
    const j = values[i]! - min;
    return table[j < 0 ? 0 : j > top ? top : j]!;
  };
  const n = values.length;
  const quads = data.byteOffset % 4 === 0 && LITTLE_ENDIAN ? n >> 2 : 0;
  const words = new Uint32Array(data.buffer, data.byteOffset, quads * 3);
  for (let q = 0, w = 0; q < quads; q++, w += 3) {
    const a = grey(4 * q);
    const b = grey(4 * q + 1);
    const c = grey(4 * q + 2);
    const d = grey(4 * q + 3);
    words[w] = (a | (a << 8) | (a << 16) | (b << 24)) >>> 0;
    words[w + 1] = (b | (b << 8) | (c << 16) | (c << 24)) >>> 0;
    words[w + 2] = (c | (d << 8) | (d << 16) | (d << 24)) >>> 0;
  }
  for (let i = 4 * quads; i < n; i++) {
    const g = grey(i);
    data[3 * i] = g;
    data[3 * i + 1] = g;
    data[3 * i + 2] = g;
  }
}

const LITTLE_ENDIAN = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;

/**
 * Monochrome: the header's VOI (wide data, when `voi` has one), else a 0.5-99.5 percentile window
 * of the non-padding samples (min-max for 8-bit data); MONOCHROME1 inverted. Colour: 8-bit samples.
 */
export function toDisplay(frame: Uint8Array, px: PixelModule, planar: 0 | 1, voi?: Voi): RgbImage {
  const n = px.rows * px.cols;
  const bps = px.bitsAllocated / 8;
  const data = new Uint8Array(n * 3);
  if (px.spp === 1) {
    const values = storedValues(frame, px, n);
    const pal = px.palette;
    if (pal) {
      const top = pal.rgb[0]!.length - 1;
      for (let i = 0; i < n; i++) {
        const k = Math.min(Math.max(values[i]! - pal.first, 0), top);
        data[3 * i] = pal.rgb[0]![k]!;
        data[3 * i + 1] = pal.rgb[1]![k]!;
        data[3 * i + 2] = pal.rgb[2]![k]!;
      }
      return { width: px.cols, height: px.rows, data };
    }
    paintGrey(values, greyTable(values, px, voi), px, data);
    return { width: px.cols, height: px.rows, data };
  }
  const shift = px.bitsStored > 8 ? px.bitsStored - 8 : 0;
  // Native YBR_FULL_422 frames are handed out as full YBR (src/pixel/index.ts).
  const ybr = px.photometric.startsWith("YBR_FULL");
  const clamp = (v: number): number => (v < 0 ? 0 : v > 255 ? 255 : Math.round(v));
  for (let i = 0; i < n; i++) {
    let r: number;
    let g: number;
    let b: number;
    if (bps === 1 && shift === 0) {
      const o0 = planar ? i : 3 * i;
      const step = planar ? n : 1;
      r = frame[o0]!;
      g = frame[o0 + step]!;
      b = frame[o0 + 2 * step]!;
    } else {
      r = sampleAt(frame, (planar ? i : 3 * i) * bps, px) >> shift;
      g = sampleAt(frame, (planar ? n + i : 3 * i + 1) * bps, px) >> shift;
      b = sampleAt(frame, (planar ? 2 * n + i : 3 * i + 2) * bps, px) >> shift;
    }
    if (ybr) {
      // r, g, b hold Y, Cb, Cr here.
      data[3 * i] = clamp(r + 1.402 * (b - 128));
      data[3 * i + 1] = clamp(r - 0.344136 * (g - 128) - 0.714136 * (b - 128));
      data[3 * i + 2] = clamp(r + 1.772 * (g - 128));
    } else {
      data[3 * i] = r;
      data[3 * i + 1] = g;
      data[3 * i + 2] = b;
    }
  }
  return { width: px.cols, height: px.rows, data };
}
