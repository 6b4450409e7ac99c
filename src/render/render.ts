/**
 * Rendered frames (PS3.18 8.3.5 / 9.5 "rendered resources"): one frame of an instance turned into an
 * 8-bit greyscale or RGB raster, following the grayscale pipeline of PS3.3 C.11 (stored value ->
 * Modality rescale -> VOI window -> Presentation, MONOCHROME1 inverted) or the colour models RGB,
 * YBR_FULL, YBR_FULL_422 and PALETTE COLOR.
 *
 * Native frames are read here, one frame at a time (1-bit, any High Bit, native YBR_FULL_422
 * included). Compressed (encapsulated) frames are decoded by the pixel step's codecs
 * (src/pixel: `loadCodecs` then `decodeFrame`, whose Image Pixel module describes the decoded
 * samples, e.g. lossy JPEG colour as RGB): every syntax the pixel step can decode renders, and the
 * others answer "compressed; no decoder".
 *
 * What cannot be rendered is a RenderError with a reason naming tags and values of the pixel module
 * only (never patient data): the HTTP layer answers 422 with it.
 */
import type { DataElement } from "../dicom/element.js";
import type { ParsedInstance } from "../dicom/part10.js";
import { tagOf, tagParen, PIXEL_DATA, type Tag } from "../dicom/tag.js";
import { asciiValue } from "../dicom/values.js";
import { loadCodecs } from "../pixel/codecs.js";
import { PixelError } from "../pixel/errors.js";
import { decodeFrame } from "../pixel/index.js";
import type { RasterImage } from "./png.js";

export class RenderError extends Error {
  constructor(
    /** "unsupported": the instance is fine, we cannot render it; "missing": no such frame. */
    readonly kind: "unsupported" | "missing",
    message: string,
  ) {
    super(message);
    this.name = "RenderError";
  }
}

export type VoiFunction = "linear" | "linear-exact" | "sigmoid";

export interface Window {
  readonly center: number;
  readonly width: number;
  readonly fn: VoiFunction;
}

export interface Viewport {
  readonly width: number;
  readonly height: number;
  /** Source region (PS3.18 sx,sy,sw,sh), in pixels of the frame; the whole frame by default. */
  readonly region?: {
    readonly x: number;
    readonly y: number;
    readonly width: number;
    readonly height: number;
  };
}

export interface RenderOptions {
  /** 1-based frame number; 1 by default. */
  readonly frame?: number;
  /** Overrides the header's window. */
  readonly window?: Window;
  readonly viewport?: Viewport;
}

/** Rasters larger than this are refused (a 1-bit 64k x 64k frame would otherwise need 4 GiB). */
export const MAX_RENDERED_PIXELS = 64 * 1024 * 1024;

const T = {
  samplesPerPixel: tagOf(0x0028, 0x0002),
  photometric: tagOf(0x0028, 0x0004),
  planar: tagOf(0x0028, 0x0006),
  frames: tagOf(0x0028, 0x0008),
  rows: tagOf(0x0028, 0x0010),
  columns: tagOf(0x0028, 0x0011),
  bitsAllocated: tagOf(0x0028, 0x0100),
  bitsStored: tagOf(0x0028, 0x0101),
  highBit: tagOf(0x0028, 0x0102),
  pixelRepresentation: tagOf(0x0028, 0x0103),
  windowCenter: tagOf(0x0028, 0x1050),
  windowWidth: tagOf(0x0028, 0x1051),
  rescaleIntercept: tagOf(0x0028, 0x1052),
  rescaleSlope: tagOf(0x0028, 0x1053),
  voiFunction: tagOf(0x0028, 0x1056),
  redDescriptor: tagOf(0x0028, 0x1101),
  redData: tagOf(0x0028, 0x1201),
  segmentedRed: tagOf(0x0028, 0x1221),
  frameVoiLut: tagOf(0x0028, 0x9132),
  pixelValueTransformation: tagOf(0x0028, 0x9145),
  sharedGroups: tagOf(0x5200, 0x9229),
  perFrameGroups: tagOf(0x5200, 0x9230),
  floatPixelData: tagOf(0x7fe0, 0x0008),
  doubleFloatPixelData: tagOf(0x7fe0, 0x0009),
};

const find = (elements: readonly DataElement[], tag: Tag) => elements.find((e) => e.tag === tag);

/** A US (or SS) value of the pixel module, in the dataset's byte order. */
function us(
  elements: readonly DataElement[],
  tag: Tag,
  littleEndian: boolean,
  index = 0,
): number | undefined {
  const v = find(elements, tag)?.value;
  if (!v || v.length < 2 * (index + 1)) return undefined;
  const view = new DataView(v.buffer, v.byteOffset, v.byteLength);
  return view.getUint16(index * 2, littleEndian);
}

/** Decimal-string values (DS, IS) as numbers; non-numbers are dropped. */
function numbers(elements: readonly DataElement[], tag: Tag): number[] {
  return asciiValue(find(elements, tag)?.value)
    .split("\\")
    .filter((s) => s.trim() !== "") // an absent or empty attribute has no values, not a 0
    .map((s) => Number(s.trim()))
    .filter((n) => Number.isFinite(n));
}

const text = (elements: readonly DataElement[], tag: Tag) =>
  asciiValue(find(elements, tag)?.value).trim().toUpperCase();

/** The first item of a sequence in a functional group item. */
const macro = (group: readonly DataElement[] | undefined, tag: Tag) =>
  group ? find(group, tag)?.items?.[0]?.elements : undefined;

interface Frame {
  readonly rows: number;
  readonly columns: number;
  readonly samples: number;
  readonly photometric: string;
  readonly planar: number;
  readonly bitsAllocated: number;
  readonly bitsStored: number;
  readonly highBit: number;
  readonly signed: boolean;
  readonly frames: number;
  readonly littleEndian: boolean;
  /** The frame's bytes (bit-packed for BitsAllocated 1: `bitOffset` is where the frame starts). */
  readonly data: Uint8Array;
  readonly bitOffset: number;
}

function noPixels(ds: readonly DataElement[]): RenderError {
  if (find(ds, T.floatPixelData) || find(ds, T.doubleFloatPixelData))
    return new RenderError("unsupported", "float pixel data (7FE0,0008/0009) is not rendered");
  return new RenderError("unsupported", "the instance has no Pixel Data (7FE0,0010)");
}

const frameMissing = (frames: number, frameNumber: number) =>
  new RenderError("missing", `the instance has ${frames} frame(s); frame ${frameNumber} does not exist`);

/**
 * One frame of an encapsulated instance, decoded by the pixel step's codecs. Their errors name
 * attributes and codes, never values; an error of a codec library itself is not shown.
 */
async function decodedFrame(parsed: ParsedInstance, frameNumber: number): Promise<Frame> {
  const { dataset: ds, transferSyntax } = parsed;
  const pixel = find(ds, PIXEL_DATA);
  if (!pixel) throw noPixels(ds);
  let decoded: ReturnType<typeof decodeFrame>;
  try {
    await loadCodecs(transferSyntax);
    // Only the asked frame is decoded (a 140-frame cine is not decoded whole for one frame).
    decoded = decodeFrame(ds, transferSyntax, frameNumber - 1);
  } catch (error) {
    if (error instanceof PixelError && error.code === "PIXEL_UNSUPPORTED_SYNTAX")
      throw new RenderError(
        "unsupported",
        `the transfer syntax ${transferSyntax.uid} is compressed; rendering it needs a decoder this service does not have`,
      );
    const why = error instanceof PixelError ? error.message : "the codec failed";
    throw new RenderError(
      "unsupported",
      `the transfer syntax ${transferSyntax.uid} is compressed; its frames are not rendered: ${why}`,
    );
  }
  const px = decoded.module;
  const data = decoded.frame;
  if (!data) throw frameMissing(px.frames, frameNumber);
  if (px.rows * px.cols > MAX_RENDERED_PIXELS)
    throw new RenderError("unsupported", `a ${px.cols}x${px.rows} frame is larger than this service renders`);
  return {
    rows: px.rows,
    columns: px.cols,
    samples: px.spp,
    photometric: px.photometric,
    planar: decoded.planar,
    bitsAllocated: px.bitsAllocated,
    bitsStored: px.bitsStored,
    highBit: px.bitsStored - 1, // the pixel module refuses any other High Bit
    signed: px.signed,
    frames: px.frames,
    littleEndian: true, // decoded samples are little endian (and encapsulated syntaxes are LE)
    data,
    bitOffset: 0,
  };
}

/** One frame of a native instance, read in place. */
function nativeFrame(parsed: ParsedInstance, frameNumber: number): Frame {
  const ds = parsed.dataset;
  const { transferSyntax } = parsed;
  const pixel = find(ds, PIXEL_DATA);
  if (!pixel?.value) throw noPixels(ds);
  const le = transferSyntax.encoding.littleEndian;
  const rows = us(ds, T.rows, le);
  const columns = us(ds, T.columns, le);
  const bitsAllocated = us(ds, T.bitsAllocated, le);
  if (!rows || !columns || !bitsAllocated)
    throw new RenderError(
      "unsupported",
      "Rows, Columns or Bits Allocated (0028,0010/0011/0100) is missing or zero",
    );
  const samples = us(ds, T.samplesPerPixel, le) ?? 1;
  const photometric = text(ds, T.photometric) || (samples === 3 ? "RGB" : "MONOCHROME2");
  const bitsStored = us(ds, T.bitsStored, le) ?? bitsAllocated;
  const highBit = us(ds, T.highBit, le) ?? bitsStored - 1;
  const frames = Math.max(1, Math.trunc(numbers(ds, T.frames)[0] ?? 1));
  if (![1, 8, 16, 32].includes(bitsAllocated))
    throw new RenderError(
      "unsupported",
      `Bits Allocated ${bitsAllocated} is not rendered (1, 8, 16 or 32 are)`,
    );
  if (bitsStored < 1 || bitsStored > bitsAllocated || highBit < bitsStored - 1 || highBit >= bitsAllocated)
    throw new RenderError("unsupported", "Bits Stored / High Bit (0028,0101/0102) do not fit Bits Allocated");
  if (samples !== 1 && samples !== 3)
    throw new RenderError("unsupported", `Samples per Pixel ${samples} is not rendered (1 or 3 are)`);
  if (samples === 3 && bitsAllocated === 1)
    throw new RenderError("unsupported", "1-bit colour pixels are not rendered");
  if (!Number.isInteger(frameNumber) || frameNumber < 1 || frameNumber > frames)
    throw frameMissing(frames, frameNumber);
  if (rows * columns > MAX_RENDERED_PIXELS)
    throw new RenderError("unsupported", `a ${columns}x${rows} frame is larger than this service renders`);

  // YBR_FULL_422 stores two samples of luminance and one Cb, Cr pair for each two pixels.
  const samplesPerFrame = photometric === "YBR_FULL_422" ? rows * columns * 2 : rows * columns * samples;
  const frameBits = samplesPerFrame * bitsAllocated;
  const startBit = frameBits * (frameNumber - 1);
  const endByte = Math.ceil((startBit + frameBits) / 8);
  if (pixel.value.length < endByte)
    throw new RenderError(
      "unsupported",
      `Pixel Data holds ${pixel.value.length} bytes; frame ${frameNumber} needs ${endByte}`,
    );
  let data = pixel.value.subarray(Math.floor(startBit / 8), endByte);
  // Explicit VR Big Endian: OW Pixel Data of 8-bit samples is stored as swapped 16-bit words.
  if (!le && bitsAllocated === 8 && pixel.vr === "OW") {
    const start = Math.floor(startBit / 8);
    const words = pixel.value.subarray(start - (start % 2), endByte + (endByte % 2));
    const swapped = new Uint8Array(words.length);
    for (let i = 0; i + 1 < words.length; i += 2) {
      swapped[i] = words[i + 1]!;
      swapped[i + 1] = words[i]!;
    }
    data = swapped.subarray(start % 2, (start % 2) + (endByte - start));
  }
  return {
    rows,
    columns,
    samples,
    photometric,
    planar: us(ds, T.planar, le) ?? 0,
    bitsAllocated,
    bitsStored,
    highBit,
    signed: us(ds, T.pixelRepresentation, le) === 1,
    frames,
    littleEndian: le,
    data,
    bitOffset: startBit % 8,
  };
}

/** The stored values of a frame's samples, masked to Bits Stored and sign-extended. */
function storedValues(f: Frame): Float64Array {
  const count = f.photometric === "YBR_FULL_422" ? f.rows * f.columns * 2 : f.rows * f.columns * f.samples;
  const out = new Float64Array(count);
  const view = new DataView(f.data.buffer, f.data.byteOffset, f.data.byteLength);
  const shift = f.highBit + 1 - f.bitsStored;
  const mask = f.bitsStored >= 32 ? 0xffffffff : 2 ** f.bitsStored - 1;
  const signBit = 2 ** (f.bitsStored - 1);
  for (let i = 0; i < count; i++) {
    let raw: number;
    if (f.bitsAllocated === 1) {
      const bit = f.bitOffset + i;
      raw = (f.data[bit >> 3]! >> (bit & 7)) & 1;
    } else if (f.bitsAllocated === 8) raw = f.data[i]!;
    else if (f.bitsAllocated === 16) raw = view.getUint16(i * 2, f.littleEndian);
    else raw = view.getUint32(i * 4, f.littleEndian);
    let v = Math.floor(raw / 2 ** shift) % (mask + 1);
    if (f.signed && v >= signBit) v -= signBit * 2;
    out[i] = v;
  }
  return out;
}

/** Window level from the request, the frame's functional groups, or the top-level VOI LUT module. */
function headerWindow(ds: readonly DataElement[], frameNumber: number): Window | undefined {
  const perFrame = find(ds, T.perFrameGroups)?.items?.[frameNumber - 1]?.elements;
  const shared = find(ds, T.sharedGroups)?.items?.[0]?.elements;
  for (const source of [macro(perFrame, T.frameVoiLut), macro(shared, T.frameVoiLut), ds]) {
    if (!source) continue;
    const center = numbers(source, T.windowCenter)[0];
    const width = numbers(source, T.windowWidth)[0];
    if (center === undefined || width === undefined || width <= 0) continue;
    const fn = text(source, T.voiFunction);
    return {
      center,
      width,
      fn: fn === "SIGMOID" ? "sigmoid" : fn === "LINEAR_EXACT" ? "linear-exact" : "linear",
    };
  }
  return undefined;
}

function rescale(ds: readonly DataElement[], frameNumber: number): { slope: number; intercept: number } {
  const perFrame = find(ds, T.perFrameGroups)?.items?.[frameNumber - 1]?.elements;
  const shared = find(ds, T.sharedGroups)?.items?.[0]?.elements;
  for (const source of [
    macro(perFrame, T.pixelValueTransformation),
    macro(shared, T.pixelValueTransformation),
    ds,
  ]) {
    if (!source) continue;
    const slope = numbers(source, T.rescaleSlope)[0];
    const intercept = numbers(source, T.rescaleIntercept)[0];
    if (slope !== undefined || intercept !== undefined)
      return { slope: slope || 1, intercept: intercept ?? 0 };
  }
  return { slope: 1, intercept: 0 };
}

/** PS3.3 C.11.2.1.2 (linear), C.11.2.1.3.2 (linear exact) and C.11.2.1.3.1 (sigmoid), to 0..255. */
export function voi(x: number, w: Window): number {
  const { center: c, width } = w;
  if (w.fn === "sigmoid") return 255 / (1 + Math.exp((-4 * (x - c)) / width));
  if (w.fn === "linear-exact") {
    if (x <= c - width / 2) return 0;
    if (x > c + width / 2) return 255;
    return ((x - c) / width + 0.5) * 255;
  }
  if (width <= 1) return x <= c - 0.5 ? 0 : 255;
  if (x <= c - 0.5 - (width - 1) / 2) return 0;
  if (x > c - 0.5 + (width - 1) / 2) return 255;
  return ((x - (c - 0.5)) / (width - 1) + 0.5) * 255;
}

function grey(ds: readonly DataElement[], f: Frame, frameNumber: number, requested?: Window): Uint8Array {
  const values = storedValues(f);
  const { slope, intercept } = rescale(ds, frameNumber);
  let min = Infinity;
  let max = -Infinity;
  for (let i = 0; i < values.length; i++) {
    const v = values[i]! * slope + intercept;
    values[i] = v;
    if (v < min) min = v;
    if (v > max) max = v;
  }
  // No window anywhere: the frame's own range (a constant frame renders mid-grey).
  const window = requested ??
    headerWindow(ds, frameNumber) ?? {
      center: (min + max + 1) / 2,
      width: Math.max(1, max - min + 1),
      fn: "linear" as const,
    };
  const invert = f.photometric === "MONOCHROME1";
  const out = new Uint8Array(values.length);
  for (let i = 0; i < values.length; i++) {
    const y = Math.round(voi(values[i]!, window));
    out[i] = invert ? 255 - y : y;
  }
  return out;
}

const clamp8 = (v: number) => (v < 0 ? 0 : v > 255 ? 255 : Math.round(v));

/** PS3.3 C.7.6.3.1.2: YBR_FULL to RGB. */
function ybrToRgb(y: number, cb: number, cr: number, out: Uint8Array, at: number): void {
  out[at] = clamp8(y + 1.402 * (cr - 128));
  out[at + 1] = clamp8(y - 0.344136 * (cb - 128) - 0.714136 * (cr - 128));
  out[at + 2] = clamp8(y + 1.772 * (cb - 128));
}

function colour(f: Frame): Uint8Array {
  const values = storedValues(f);
  const n = f.rows * f.columns;
  const to8 = f.bitsStored > 8 ? 2 ** (f.bitsStored - 8) : 1;
  const out = new Uint8Array(n * 3);
  if (f.photometric === "YBR_FULL_422") {
    for (let p = 0; p < n; p += 2) {
      const base = p * 2; // Y1 Y2 Cb Cr
      const cb = values[base + 2]! / to8;
      const cr = values[base + 3]! / to8;
      ybrToRgb(values[base]! / to8, cb, cr, out, p * 3);
      if (p + 1 < n) ybrToRgb(values[base + 1]! / to8, cb, cr, out, (p + 1) * 3);
    }
    return out;
  }
  const sample = (p: number, s: number) => values[f.planar === 1 ? s * n + p : p * 3 + s]! / to8;
  for (let p = 0; p < n; p++) {
    if (f.photometric === "YBR_FULL") ybrToRgb(sample(p, 0), sample(p, 1), sample(p, 2), out, p * 3);
    else for (let s = 0; s < 3; s++) out[p * 3 + s] = clamp8(sample(p, s));
  }
  return out;
}

function palette(ds: readonly DataElement[], f: Frame): Uint8Array {
  if (find(ds, T.segmentedRed))
    throw new RenderError("unsupported", "segmented palette colour lookup tables are not rendered");
  const luts = [0, 1, 2].map((k) => {
    const descriptorTag = T.redDescriptor + k;
    const dataTag = T.redData + k;
    const entries = us(ds, descriptorTag, f.littleEndian, 0);
    const first = us(ds, descriptorTag, f.littleEndian, 1);
    const bits = us(ds, descriptorTag, f.littleEndian, 2);
    const data = find(ds, dataTag)?.value;
    if (entries === undefined || first === undefined || bits === undefined || !data)
      throw new RenderError(
        "unsupported",
        `PALETTE COLOR without its lookup table ${tagParen(descriptorTag)} / ${tagParen(dataTag)}`,
      );
    const count = entries === 0 ? 65536 : entries;
    if (data.length < count * 2)
      throw new RenderError(
        "unsupported",
        `the palette lookup table ${tagParen(dataTag)} is shorter than its descriptor`,
      );
    const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
    const table = new Uint16Array(count);
    let max = 0;
    for (let i = 0; i < count; i++) {
      table[i] = view.getUint16(i * 2, f.littleEndian);
      if (table[i]! > max) max = table[i]!;
    }
    // Descriptors that say 16 bits over 8-bit entries are common; the values decide.
    const scale = bits === 16 && max > 255 ? 257 : 1;
    return { table, first: f.signed ? (first << 16) >> 16 : first, scale };
  });
  const values = storedValues(f);
  const out = new Uint8Array(values.length * 3);
  for (let p = 0; p < values.length; p++)
    for (let s = 0; s < 3; s++) {
      const { table, first, scale } = luts[s]!;
      const i = Math.min(table.length - 1, Math.max(0, values[p]! - first));
      out[p * 3 + s] = clamp8(table[i]! / scale);
    }
  return out;
}

/** Nearest-neighbour resampling of a region of the raster onto the viewport. */
function fit(image: RasterImage, viewport: Viewport): RasterImage {
  const region = viewport.region ?? { x: 0, y: 0, width: image.width, height: image.height };
  const { x: sx, y: sy } = region;
  const sw = Math.min(region.width, image.width - sx);
  const sh = Math.min(region.height, image.height - sy);
  if (sx < 0 || sy < 0 || sw < 1 || sh < 1)
    throw new RenderError("unsupported", "the viewport region lies outside the frame");
  // The region keeps its aspect ratio and fills as much of vw x vh as it can (PS3.18 8.3.5.1.3).
  const scale = Math.min(viewport.width / sw, viewport.height / sh);
  const width = Math.max(1, Math.round(sw * scale));
  const height = Math.max(1, Math.round(sh * scale));
  if (width * height > MAX_RENDERED_PIXELS)
    throw new RenderError("unsupported", "the viewport is larger than this service renders");
  const c = image.channels;
  const out = new Uint8Array(width * height * c);
  for (let y = 0; y < height; y++) {
    const from = sy + Math.min(sh - 1, Math.floor((y + 0.5) / scale));
    for (let x = 0; x < width; x++) {
      const col = sx + Math.min(sw - 1, Math.floor((x + 0.5) / scale));
      for (let s = 0; s < c; s++)
        out[(y * width + x) * c + s] = image.pixels[(from * image.width + col) * c + s]!;
    }
  }
  return { width, height, channels: c, pixels: out };
}

/**
 * Renders one frame; rejects with RenderError for what cannot be rendered. Asynchronous because the
 * codecs of compressed syntaxes load lazily (WASM); native frames need nothing loaded.
 */
export async function renderFrame(parsed: ParsedInstance, options: RenderOptions = {}): Promise<RasterImage> {
  const frameNumber = options.frame ?? 1;
  const f = parsed.transferSyntax.encapsulated
    ? await decodedFrame(parsed, frameNumber)
    : nativeFrame(parsed, frameNumber);
  const ds = parsed.dataset;
  let image: RasterImage;
  if (f.photometric === "MONOCHROME1" || f.photometric === "MONOCHROME2") {
    if (f.samples !== 1)
      throw new RenderError("unsupported", `${f.photometric} with ${f.samples} samples per pixel`);
    image = {
      width: f.columns,
      height: f.rows,
      channels: 1,
      pixels: grey(ds, f, frameNumber, options.window),
    };
  } else if (f.photometric === "PALETTE COLOR" && f.samples === 1) {
    image = { width: f.columns, height: f.rows, channels: 3, pixels: palette(ds, f) };
  } else if (["RGB", "YBR_FULL", "YBR_FULL_422"].includes(f.photometric) && f.samples === 3) {
    image = { width: f.columns, height: f.rows, channels: 3, pixels: colour(f) };
  } else {
    throw new RenderError(
      "unsupported",
      `Photometric Interpretation ${f.photometric.replace(/[^A-Z0-9_ ]/g, "?").slice(0, 16)} is not rendered`,
    );
  }
  return options.viewport ? fit(image, options.viewport) : image;
}
