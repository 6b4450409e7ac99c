/** The Image Pixel module of an instance, read from its header, and what the pixel step supports. */
import type { DataElement } from "../dicom/element.js";
import { tagOf } from "../dicom/tag.js";
import { asciiValue } from "../dicom/values.js";
import { PixelError } from "./errors.js";

export const SAMPLES_PER_PIXEL = tagOf(0x0028, 0x0002);
export const PHOTOMETRIC_INTERPRETATION = tagOf(0x0028, 0x0004);
export const PLANAR_CONFIGURATION = tagOf(0x0028, 0x0006);
export const NUMBER_OF_FRAMES = tagOf(0x0028, 0x0008);
export const ROWS = tagOf(0x0028, 0x0010);
export const COLUMNS = tagOf(0x0028, 0x0011);
export const BITS_ALLOCATED = tagOf(0x0028, 0x0100);
export const BITS_STORED = tagOf(0x0028, 0x0101);
export const HIGH_BIT = tagOf(0x0028, 0x0102);
export const PIXEL_REPRESENTATION = tagOf(0x0028, 0x0103);
export const FLOAT_PIXEL_DATA = tagOf(0x7fe0, 0x0008);
export const DOUBLE_FLOAT_PIXEL_DATA = tagOf(0x7fe0, 0x0009);
const PALETTE_DESCRIPTORS = [tagOf(0x0028, 0x1101), tagOf(0x0028, 0x1102), tagOf(0x0028, 0x1103)];
const PALETTE_DATA = [tagOf(0x0028, 0x1201), tagOf(0x0028, 0x1202), tagOf(0x0028, 0x1203)];
const SEGMENTED_PALETTE_DATA = [tagOf(0x0028, 0x1221), tagOf(0x0028, 0x1222), tagOf(0x0028, 0x1223)];

export interface PixelModule {
  readonly rows: number;
  readonly cols: number;
  readonly spp: number;
  readonly bitsAllocated: number;
  readonly bitsStored: number;
  readonly signed: boolean;
  /** 1: colour-by-plane (native only; RLE frames decode interleaved). */
  readonly planar: 0 | 1;
  readonly photometric: string;
  readonly frames: number;
  /** The value every sample of a filled pixel gets, one per sample. */
  readonly fill: readonly number[];
  /** PALETTE COLOR: first mapped index and the R, G, B entries scaled to 0-255 (display only). */
  readonly palette?: { readonly first: number; readonly rgb: readonly Uint8Array[] };
}

const SUPPORTED_PI = new Set([
  "MONOCHROME1",
  "MONOCHROME2",
  "RGB",
  "YBR_FULL",
  "YBR_FULL_422",
  "PALETTE COLOR",
]);

function find(ds: readonly DataElement[], tag: number): DataElement | undefined {
  return ds.find((e) => e.tag === tag);
}

function us(ds: readonly DataElement[], tag: number, le: boolean, name: string): number {
  const v = find(ds, tag)?.value;
  if (!v || v.length < 2) throw new PixelError("PIXEL_MODULE", `${name} is missing`);
  return le ? v[0]! | (v[1]! << 8) : (v[0]! << 8) | v[1]!;
}

function usAt(v: Uint8Array, i: number, le: boolean): number {
  return le ? v[2 * i]! | (v[2 * i + 1]! << 8) : (v[2 * i]! << 8) | v[2 * i + 1]!;
}

/** Round half to even, as numpy.around (pydicom expands linear segments with it). */
function roundHalfEven(v: number): number {
  const r = Math.round(v);
  return Math.abs(v % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

/**
 * A segmented palette LUT (PS3.3 C.7.9.2: discrete, linear and indirect segments of 16-bit words)
 * expanded into `entries` 16-bit words in the same byte order. Indirect offsets count words, as
 * pydicom reads them.
 */
export function expandSegmentedLut(data: Uint8Array, le: boolean, entries: number): Uint8Array {
  const words = data.length >> 1;
  const w = (i: number): number => {
    if (i >= words) throw new PixelError("PIXEL_MODULE", "segmented palette LUT data ends inside a segment");
    return usAt(data, i, le);
  };
  const out: number[] = [];
  const expand = (start: number, maxSegments: number, depth: number): void => {
    let i = start;
    let segments = 0;
    while (i + 1 < words && segments < maxSegments) {
      const opcode = w(i);
      const length = w(i + 1);
      i += 2;
      if (opcode === 0) {
        for (let k = 0; k < length; k++) out.push(w(i + k));
        i += length;
      } else if (opcode === 1) {
        if (out.length === 0)
          throw new PixelError("PIXEL_MODULE", "segmented palette LUT starts with a linear segment");
        const y0 = out[out.length - 1]!;
        const y1 = w(i);
        i += 1;
        // numpy.linspace(y0 + step, y1, length), rounded half to even.
        const start = y0 + (y1 - y0) / length;
        for (let k = 0; k < length; k++)
          out.push(length === 1 ? y1 : roundHalfEven(start + (k * (y1 - start)) / (length - 1)));
      } else if (opcode === 2) {
        if (out.length === 0 || depth > 4)
          throw new PixelError(
            "PIXEL_MODULE",
            "segmented palette LUT has an indirect segment it cannot follow",
          );
        const offset = w(i) | (w(i + 1) << 16);
        i += 2;
        expand(offset, length, depth + 1);
      } else {
        throw new PixelError("PIXEL_MODULE", "segmented palette LUT has an unknown segment type");
      }
      if (out.length > entries)
        throw new PixelError("PIXEL_MODULE", "segmented palette LUT expands past its descriptor's length");
      segments++;
    }
  };
  expand(0, Infinity, 0);
  if (out.length !== entries)
    throw new PixelError("PIXEL_MODULE", "segmented palette LUT does not expand to its descriptor's length");
  const bytes = new Uint8Array(2 * entries);
  const view = new DataView(bytes.buffer);
  out.forEach((v, k) => view.setUint16(2 * k, v, le));
  return bytes;
}

/** Index of the palette entry with the lowest luminance (not always 0), and the palette for display. */
function readPalette(
  ds: readonly DataElement[],
  le: boolean,
): { darkest: number; first: number; rgb: Uint8Array[] } {
  const luts: Uint8Array[] = [];
  let first = 0;
  let count = 0;
  for (let c = 0; c < 3; c++) {
    const d = find(ds, PALETTE_DESCRIPTORS[c]!)?.value;
    if (!d || d.length < 6) throw new PixelError("PIXEL_MODULE", "PALETTE COLOR without its LUT descriptors");
    const n = usAt(d, 0, le) || 65536;
    first = usAt(d, 1, le);
    const bits = usAt(d, 2, le);
    if (bits !== 16 && bits !== 8)
      throw new PixelError("PIXEL_MODULE", "palette LUT entries are not 8 or 16 bits");
    let data = find(ds, PALETTE_DATA[c]!)?.value;
    if (!data) {
      const segmented = find(ds, SEGMENTED_PALETTE_DATA[c]!)?.value;
      if (!segmented || bits !== 16)
        throw new PixelError(
          "PIXEL_MODULE",
          "PALETTE COLOR without its LUT data (plain, or segmented 16-bit)",
        );
      data = expandSegmentedLut(segmented, le, n);
    }
    if (data.length < 2 * n)
      throw new PixelError("PIXEL_MODULE", "palette LUT data is shorter than its descriptor");
    if (count && n !== count) throw new PixelError("PIXEL_MODULE", "palette LUTs differ in length");
    count = n;
    luts.push(data);
  }
  let best = 0;
  let bestLum = Infinity;
  const bits = usAt(find(ds, PALETTE_DESCRIPTORS[0]!)!.value!, 2, le);
  const rgb = luts.map((lut) => {
    const out = new Uint8Array(count);
    for (let i = 0; i < count; i++) out[i] = bits === 16 ? usAt(lut, i, le) >> 8 : usAt(lut, i, le) & 0xff;
    return out;
  });
  for (let i = 0; i < count; i++) {
    const lum = 0.299 * usAt(luts[0]!, i, le) + 0.587 * usAt(luts[1]!, i, le) + 0.114 * usAt(luts[2]!, i, le);
    if (lum < bestLum) {
      bestLum = lum;
      best = i;
    }
  }
  return { darkest: first + best, first, rgb };
}

/** Reads and checks the pixel module; refuses what the step cannot redact safely. */
export function pixelModule(ds: readonly DataElement[], littleEndian: boolean): PixelModule {
  if (find(ds, FLOAT_PIXEL_DATA) || find(ds, DOUBLE_FLOAT_PIXEL_DATA))
    throw new PixelError("PIXEL_UNSUPPORTED_BITS", "Float/Double Float Pixel Data is not supported");
  const rows = us(ds, ROWS, littleEndian, "Rows (0028,0010)");
  const cols = us(ds, COLUMNS, littleEndian, "Columns (0028,0011)");
  const spp = us(ds, SAMPLES_PER_PIXEL, littleEndian, "Samples per Pixel (0028,0002)");
  const bitsAllocated = us(ds, BITS_ALLOCATED, littleEndian, "Bits Allocated (0028,0100)");
  const bitsStored = us(ds, BITS_STORED, littleEndian, "Bits Stored (0028,0101)");
  const highBit = us(ds, HIGH_BIT, littleEndian, "High Bit (0028,0102)");
  const signed = us(ds, PIXEL_REPRESENTATION, littleEndian, "Pixel Representation (0028,0103)") === 1;
  const photometric = asciiValue(find(ds, PHOTOMETRIC_INTERPRETATION)?.value).trim().toUpperCase();
  const framesText = asciiValue(find(ds, NUMBER_OF_FRAMES)?.value).trim();
  const frames = framesText === "" ? 1 : Number(framesText);
  const planarValue = find(ds, PLANAR_CONFIGURATION)?.value;
  const planar =
    spp > 1 && planarValue && planarValue.length >= 2 && usAt(planarValue, 0, littleEndian) === 1 ? 1 : 0;

  if (rows === 0 || cols === 0) throw new PixelError("PIXEL_MODULE", "Rows or Columns is zero");
  if (!Number.isInteger(frames) || frames < 1)
    throw new PixelError("PIXEL_MODULE", "Number of Frames (0028,0008) is not a positive integer");
  if (![8, 16, 32].includes(bitsAllocated))
    throw new PixelError(
      "PIXEL_UNSUPPORTED_BITS",
      `Bits Allocated ${bitsAllocated} is not supported (8, 16, 32)`,
    );
  if (bitsStored < 1 || bitsStored > bitsAllocated || highBit !== bitsStored - 1)
    throw new PixelError(
      "PIXEL_UNSUPPORTED_BITS",
      "Bits Stored / High Bit are not supported (High Bit = Bits Stored - 1)",
    );
  if (!SUPPORTED_PI.has(photometric))
    throw new PixelError(
      "PIXEL_UNSUPPORTED_PHOTOMETRIC",
      "this Photometric Interpretation (0028,0004) is not supported",
    );
  const colour = photometric === "RGB" || photometric.startsWith("YBR_FULL");
  if ((colour && spp !== 3) || (!colour && spp !== 1))
    throw new PixelError("PIXEL_MODULE", "Samples per Pixel does not match Photometric Interpretation");

  const max = 2 ** bitsStored - 1;
  const half = 2 ** (bitsStored - 1);
  let fill: number[];
  let palette: PixelModule["palette"];
  switch (photometric) {
    case "MONOCHROME1":
      fill = [signed ? half - 1 : max];
      break;
    case "MONOCHROME2":
      fill = [signed ? -half : 0];
      break;
    case "RGB":
      fill = [0, 0, 0];
      break;
    case "YBR_FULL":
    case "YBR_FULL_422":
      fill = [0, half, half];
      break;
    default: {
      const p = readPalette(ds, littleEndian);
      // First Mapped + index can exceed what the samples hold: such a fill would be truncated.
      if (p.darkest > max)
        throw new PixelError("PIXEL_MODULE", "the palette's darkest entry is past what Bits Stored can hold");
      fill = [p.darkest];
      palette = { first: p.first, rgb: p.rgb };
    }
  }
  return {
    rows,
    cols,
    spp,
    bitsAllocated,
    bitsStored,
    signed,
    planar,
    photometric,
    frames,
    fill,
    ...(palette ? { palette } : {}),
  };
}
