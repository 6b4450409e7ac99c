/**
 * The Clean Pixel Data step, called by the engine through `cleanPixelData` only when a profile has a
 * `pixel` block and the instance is in its scope: decode -> find text (device templates) -> redact
 * (padded boxes, the photometric interpretation's black) -> encode into the input's transfer syntax ->
 * re-decode and check -> the new Pixel Data element. Anything it cannot do safely is a PixelError
 * with a PIXEL_* code (the instance is refused).
 */
import type { DataElement } from "../dicom/element.js";
import { BURNED_IN_ANNOTATION, MODALITY, PIXEL_DATA, SOP_CLASS_UID, tagOf } from "../dicom/tag.js";
import { transferSyntaxOf, type TransferSyntax } from "../dicom/transfer-syntax.js";
import { asciiValue, encodeValue } from "../dicom/values.js";
import {
  JPEG_BASELINE,
  JPEG_EXTENDED,
  JPEG_LOSSLESS_SV1,
  isJ2kFamily,
  syntaxCodec,
  type FrameLayout,
  type SyntaxCodec,
} from "./codecs.js";
import { encodeJpegLosslessSv1 } from "./codecs/jpeg.js";
import type { PixelConfig, PixelTemplate, Rect } from "./config.js";
import { PixelError } from "./errors.js";
import { encapsulate, encapsulatedFrames, swapInPlace } from "./frames.js";
import { redactJpegBlocks } from "./jpeg-dct/index.js";
import { PHOTOMETRIC_INTERPRETATION, PLANAR_CONFIGURATION, pixelModule, type PixelModule } from "./module.js";
import { boxesHoldFill, fillBoxes, padAndClip } from "./redact.js";
import { rleDecodeFrame, rleEncodeFrame } from "./rle.js";

export type { PixelConfig, PixelTemplate, Rect } from "./config.js";
export { PixelError } from "./errors.js";

const RLE_LOSSLESS = "1.2.840.10008.1.2.5";
const MANUFACTURER = tagOf(0x0008, 0x0070);
const MODEL = tagOf(0x0008, 0x1090);
const SOFTWARE_VERSIONS = tagOf(0x0018, 0x1020);
const LOSSY_IMAGE_COMPRESSION = tagOf(0x0028, 0x2110);
const LOSSY_IMAGE_COMPRESSION_METHOD = tagOf(0x0028, 0x2114);

export interface PixelBox {
  readonly frame: number;
  readonly x: number;
  readonly y: number;
  readonly width: number;
  readonly height: number;
  readonly source: "template" | "detector";
}

/** An attribute the step changed besides Pixel Data (code strings only; audited before/after). */
export interface PixelAttribute {
  readonly element: DataElement;
  readonly keyword: string;
  readonly before: string;
  readonly after: string;
}

export interface PixelResult {
  /** The new Pixel Data element (same VR, same encapsulation). */
  readonly element: DataElement;
  /**
   * Every filled box, padded and clipped, per frame; for a JPEG edited in the DCT domain, the
   * region that changed (the boxes snapped outward to blocks).
   */
  readonly boxes: readonly PixelBox[];
  /** The syntax to write when it is not the input's (a lossy JPEG transcoded to 4.70). */
  readonly transferSyntax?: TransferSyntax;
  /** Other attributes to replace (Photometric Interpretation, Lossy Image Compression ...). */
  readonly attributes?: readonly PixelAttribute[];
}

function text(ds: readonly DataElement[], tag: number): string {
  return asciiValue(ds.find((e) => e.tag === tag)?.value).trim();
}

/** Whether the profile's scope takes this instance (before anything is decoded). */
export function inPixelScope(ds: readonly DataElement[], config: PixelConfig): boolean {
  if (!ds.some((e) => e.tag === PIXEL_DATA)) return false;
  if (config.scope.burnedInAnnotationYes && text(ds, BURNED_IN_ANNOTATION).toUpperCase() === "YES")
    return true;
  return (
    config.scope.modalities.includes(text(ds, MODALITY).toUpperCase()) ||
    config.scope.sopClasses.includes(text(ds, SOP_CLASS_UID))
  );
}

/** The templates whose device key and frame size match this instance. */
export function matchingTemplates(
  ds: readonly DataElement[],
  px: Pick<PixelModule, "rows" | "cols">,
  templates: readonly PixelTemplate[],
): PixelTemplate[] {
  const manufacturer = text(ds, MANUFACTURER);
  const model = text(ds, MODEL);
  const software = text(ds, SOFTWARE_VERSIONS);
  return templates.filter(
    (t) =>
      t.manufacturer === manufacturer &&
      t.model === model &&
      t.rows === px.rows &&
      t.columns === px.cols &&
      (t.softwareVersionPrefix === undefined || software.startsWith(t.softwareVersionPrefix)),
  );
}

interface Codec {
  /** Frames as little-endian samples, and the planar configuration of the decoded layout. */
  decode(): { frames: Uint8Array[]; planar: 0 | 1 };
  /** One frame (0-based) of decode(), decoding only that frame where the syntax allows. */
  decodeFrame(index: number): Uint8Array;
  /** The frames as stored (encapsulated syntaxes), for frames that keep their bytes. */
  stored?(): Uint8Array[];
  encode(frames: readonly Uint8Array[], unchanged: readonly boolean[]): DataElement;
  /** Decodes an element this codec wrote (verification). */
  redecode(element: DataElement): Uint8Array[];
}

/**
 * Native YBR_FULL_422 (PS3.3 C.7.6.3.1.2): each pair of pixels is stored Y1 Y2 Cb Cr. Frames are
 * handed out as full YBR (each pair's chroma on both pixels) and packed back from the first pixel of
 * each pair: exact as long as boxes cover whole pairs (snapToPairs).
 */
function unpack422(packed: Uint8Array, px: PixelModule): Uint8Array {
  const out = new Uint8Array(px.rows * px.cols * 3);
  for (let p = 0, o = 0; p + 3 < packed.length && o < out.length; p += 4, o += 6) {
    out[o] = packed[p]!;
    out[o + 3] = packed[p + 1]!;
    out[o + 1] = out[o + 4] = packed[p + 2]!;
    out[o + 2] = out[o + 5] = packed[p + 3]!;
  }
  return out;
}

function pack422(full: Uint8Array): Uint8Array {
  const out = new Uint8Array((full.length / 3) * 2);
  for (let p = 0, o = 0; p < out.length; p += 4, o += 6) {
    out[p] = full[o]!;
    out[p + 1] = full[o + 3]!;
    out[p + 2] = full[o + 1]!;
    out[p + 3] = full[o + 2]!;
  }
  return out;
}

/** Boxes widened to whole pixel pairs (YBR_FULL_422 shares chroma between two pixels). */
function snapToPairs(r: Rect, cols: number): Rect {
  const x0 = r[0] - (r[0] % 2);
  const x1 = Math.min(cols, r[0] + r[2] + ((r[0] + r[2]) % 2));
  return [x0, r[1], x1 - x0, r[3]];
}

function nativeCodec(pixel: DataElement, px: PixelModule, ts: TransferSyntax): Codec {
  const bps = px.bitsAllocated / 8;
  const packed = px.photometric === "YBR_FULL_422";
  if (packed && (bps !== 1 || px.cols % 2 !== 0 || px.planar !== 0))
    throw new PixelError(
      "PIXEL_UNSUPPORTED_PHOTOMETRIC",
      "native YBR_FULL_422 is supported with 8-bit samples, even Columns and Planar Configuration 0",
    );
  const frameBytes = packed ? px.rows * px.cols * 2 : px.rows * px.cols * px.spp * bps;
  const value = pixel.value ?? new Uint8Array(0);
  if (value.length < frameBytes * px.frames)
    throw new PixelError("PIXEL_DATA_LENGTH", `Pixel Data holds fewer bytes than ${px.frames} frame(s) need`);
  // Big Endian: OW words are swapped (8-bit samples in OW come in byte pairs), OB bytes are not.
  const swap = ts.encoding.littleEndian
    ? 1
    : pixel.vr === "OB"
      ? 1
      : pixel.vr === "OW" && bps === 1
        ? 2
        : bps;
  const split = (v: Uint8Array): Uint8Array[] => {
    const le = Uint8Array.from(v);
    swapInPlace(le, swap);
    return Array.from({ length: px.frames }, (_, i) => {
      const frame = le.subarray(i * frameBytes, (i + 1) * frameBytes);
      return packed ? unpack422(frame, px) : frame;
    });
  };
  return {
    decode: () => ({ frames: split(value), planar: px.planar }),
    decodeFrame: (index) => split(value)[index]!,
    encode(frames) {
      const out = Buffer.from(value); // trailing padding past the last frame is kept as it is
      frames.forEach((f, i) => out.set(packed ? pack422(f) : f, i * frameBytes));
      swapInPlace(out.subarray(0, frameBytes * px.frames), swap);
      return { ...pixel, value: out };
    },
    redecode: (element) => split(element.value!),
  };
}

function rleCodec(pixel: DataElement, px: PixelModule): Codec {
  if (!pixel.fragments) throw new PixelError("PIXEL_CODEC_ERROR", "RLE Pixel Data is not encapsulated");
  const layout = { rows: px.rows, cols: px.cols, spp: px.spp, bps: px.bitsAllocated / 8 };
  const decodeAll = (fragments: Uint8Array): Uint8Array[] =>
    encapsulatedFrames(fragments, px.frames).map((f) => rleDecodeFrame(f, layout));
  return {
    decode: () => ({ frames: decodeAll(pixel.fragments!), planar: 0 }),
    decodeFrame: (index) => rleDecodeFrame(encapsulatedFrames(pixel.fragments!, px.frames)[index]!, layout),
    encode: (frames) => ({
      ...pixel,
      fragments: encapsulate(frames.map((f) => rleEncodeFrame(f, layout))),
      undefinedLength: true,
    }),
    redecode: (element) => decodeAll(element.fragments!),
  };
}

/** JPEG, JPEG-LS, JPEG 2000 and HTJ2K (src/pixel/codecs.ts); frames without boxes keep their bytes. */
function compressedCodec(pixel: DataElement, px: PixelModule, syntax: SyntaxCodec): Codec {
  if (!pixel.fragments)
    throw new PixelError("PIXEL_CODEC_ERROR", "compressed Pixel Data is not encapsulated");
  const layout: FrameLayout = px;
  const split = (fragments: Uint8Array): Uint8Array[] =>
    encapsulatedFrames(fragments, px.frames, syntax.startsFrame);
  const decodeAll = (fragments: Uint8Array): Uint8Array[] =>
    split(fragments).map((f) => syntax.decode(f, layout));
  let stored: Uint8Array[] | undefined;
  return {
    stored: () => (stored ??= split(pixel.fragments!)),
    decode: () => ({ frames: decodeAll(pixel.fragments!), planar: 0 }),
    decodeFrame: (index) => syntax.decode((stored ??= split(pixel.fragments!))[index]!, layout),
    encode(frames, unchanged) {
      const encode = syntax.encode;
      if (!encode)
        throw new PixelError("PIXEL_LOSSY_REFUSED", `${syntax.name} has no lossless encoder in its syntax`);
      const own = (stored ??= split(pixel.fragments!));
      return {
        ...pixel,
        fragments: encapsulate(frames.map((f, i) => (unchanged[i] ? own[i]! : encode(f, layout)))),
        undefinedLength: true,
      };
    },
    redecode: (element) => decodeAll(element.fragments!),
  };
}

/** Refuses transfer syntaxes without a codec here, before anything else is looked at. */
function assertSyntax(ts: TransferSyntax): void {
  if (ts.encapsulated && ts.uid !== RLE_LOSSLESS && !syntaxCodec(ts.uid))
    throw new PixelError(
      "PIXEL_UNSUPPORTED_SYNTAX",
      "the pixel step has no codec for this transfer syntax (native, RLE, JPEG, JPEG-LS, JPEG 2000, HTJ2K)",
    );
}

/**
 * The Image Pixel module as the codec decodes it: lossy JPEG colour (YBR_FULL_422, YBR_FULL, ...)
 * and JPEG 2000 / HTJ2K colour (YBR_RCT, YBR_ICT) come out of the decoders as RGB, so fills and
 * checks use RGB's black.
 */
function decodedModule(ds: readonly DataElement[], ts: TransferSyntax): PixelModule {
  const pi = asciiValue(ds.find((e) => e.tag === PHOTOMETRIC_INTERPRETATION)?.value)
    .trim()
    .toUpperCase();
  if (
    ((ts.uid === JPEG_BASELINE || ts.uid === JPEG_EXTENDED) && pi.startsWith("YBR_")) ||
    (isJ2kFamily(ts.uid) && (pi === "YBR_RCT" || pi === "YBR_ICT"))
  )
    return pixelModule(
      ds.map((e) => (e.tag === PHOTOMETRIC_INTERPRETATION ? { ...e, value: encodeValue("RGB", "CS") } : e)),
      ts.encoding.littleEndian,
    );
  return pixelModule(ds, ts.encoding.littleEndian);
}

/** The codec of a syntax assertSyntax accepted (checked before the header is read). */
function codecFor(pixel: DataElement, px: PixelModule, ts: TransferSyntax): Codec {
  if (!ts.encapsulated) return nativeCodec(pixel, px, ts);
  if (px.photometric === "YBR_FULL_422")
    throw new PixelError(
      "PIXEL_UNSUPPORTED_PHOTOMETRIC",
      "YBR_FULL_422 is supported native and in lossy JPEG only",
    );
  if (ts.uid === RLE_LOSSLESS) return rleCodec(pixel, px);
  return compressedCodec(pixel, px, syntaxCodec(ts.uid)!);
}

/** Text of an element for the audit (code strings only: never a patient value). */
function attributeChange(
  tag: number,
  keyword: string,
  vr: string,
  before: string,
  after: string,
): PixelAttribute {
  return {
    element: { tag, vr, value: encodeValue(after, vr), undefinedLength: false },
    keyword,
    before,
    after,
  };
}

/**
 * A lossy-coded JPEG image written into JPEG Lossless SV1: the written syntax changes, the image
 * keeps its lossy history (Lossy Image Compression stays or becomes 01 and gets its method when
 * absent) and its colour is now RGB (the decoder converted YCbCr).
 */
function transcodeAttributes(ds: readonly DataElement[], px: PixelModule): PixelAttribute[] {
  const out: PixelAttribute[] = [];
  const pi = text(ds, PHOTOMETRIC_INTERPRETATION);
  if (pi !== px.photometric)
    out.push(
      attributeChange(PHOTOMETRIC_INTERPRETATION, "PhotometricInterpretation", "CS", pi, px.photometric),
    );
  if (px.spp > 1 && ds.some((e) => e.tag === PLANAR_CONFIGURATION) && px.planar !== 0)
    out.push({
      element: { tag: PLANAR_CONFIGURATION, vr: "US", value: Buffer.alloc(2), undefinedLength: false },
      keyword: "PlanarConfiguration",
      before: "1",
      after: "0",
    });
  const lossy = text(ds, LOSSY_IMAGE_COMPRESSION);
  if (lossy !== "01")
    out.push(attributeChange(LOSSY_IMAGE_COMPRESSION, "LossyImageCompression", "CS", lossy, "01"));
  if (!text(ds, LOSSY_IMAGE_COMPRESSION_METHOD))
    out.push(
      attributeChange(LOSSY_IMAGE_COMPRESSION_METHOD, "LossyImageCompressionMethod", "CS", "", "ISO_10918_1"),
    );
  return out;
}

interface Written {
  readonly element: DataElement;
  readonly transferSyntax?: TransferSyntax;
  readonly attributes: PixelAttribute[];
  /** Per frame: where the written frame may differ from the original (DCT-domain edit). */
  readonly changed?: readonly (readonly Rect[])[];
  /** Per frame, for each of `changed`: the index in that frame's boxes of the box it was changed for. */
  readonly changedFor?: readonly (readonly number[])[];
}

/**
 * JPEG 4.50/4.51: the DCT-domain redactor edits only the blocks under the boxes; when it cannot, the
 * profile's `lossy` policy transcodes to JPEG Lossless SV1 (4.70) or refuses.
 */
function writeLossyJpeg(
  ds: readonly DataElement[],
  pixel: DataElement,
  px: PixelModule,
  codec: Codec,
  expected: readonly Uint8Array[],
  boxesOf: readonly (readonly Rect[])[],
  config: PixelConfig,
): Written {
  const stored = codec.stored!();
  try {
    const fill = px.photometric === "MONOCHROME1" ? "white" : "black";
    const edits = stored.map((f, i) =>
      boxesOf[i]!.length ? redactJpegBlocks(f, boxesOf[i]!, fill) : { jpeg: f, changed: [], changedFor: [] },
    );
    return {
      element: { ...pixel, fragments: encapsulate(edits.map((e) => e.jpeg)), undefinedLength: true },
      attributes: [],
      changed: edits.map((e) => e.changed),
      changedFor: edits.map((e) => e.changedFor),
    };
  } catch (error) {
    if (!(error instanceof PixelError)) throw error;
    if (config.lossy !== "transcode")
      throw new PixelError(
        "PIXEL_LOSSY_REFUSED",
        "the JPEG frames cannot be redacted in the DCT domain and the profile refuses a change of transfer syntax (pixel.lossy)",
      );
  }
  const layout: FrameLayout = px;
  return {
    element: {
      ...pixel,
      fragments: encapsulate(expected.map((f) => encodeJpegLosslessSv1(f, layout))),
      undefinedLength: true,
    },
    transferSyntax: transferSyntaxOf(JPEG_LOSSLESS_SV1)!,
    attributes: transcodeAttributes(ds, px),
  };
}

/** Samples outside `changed` equal `original`, and the boxes hold the fill. */
function holdsOutside(
  again: Uint8Array,
  original: Uint8Array,
  px: PixelModule,
  changed: readonly Rect[],
): boolean {
  const bpp = px.spp * (px.bitsAllocated / 8);
  const rowBytes = px.cols * bpp;
  for (let y = 0; y < px.rows; y++) {
    const spans = changed
      .filter(([, ry, , rh]) => y >= ry && y < ry + rh)
      .map(([rx, , rw]) => [rx * bpp, (rx + rw) * bpp] as const)
      .sort((a, b) => a[0] - b[0]);
    let x = 0;
    const row = y * rowBytes;
    for (const [a, b] of [...spans, [rowBytes, rowBytes] as const]) {
      if (
        a > x &&
        Buffer.compare(again.subarray(row + x, row + a), original.subarray(row + x, row + a)) !== 0
      )
        return false;
      x = Math.max(x, b);
    }
  }
  return true;
}

/**
 * Cleans the pixel data of one instance read with `ts`. Throws PixelError when it cannot; returns
 * the new Pixel Data element and the boxes it filled.
 */
export function cleanPixelData(
  ds: readonly DataElement[],
  ts: TransferSyntax,
  config: PixelConfig,
  /** Text boxes per frame from the detector (detectInstance), when the profile asks for it. */
  detected?: readonly (readonly Rect[])[],
  /** The frames as decodeFrames gave them for detection (read only), so they are not decoded twice. */
  decoded?: DecodedFrames,
): PixelResult {
  const pixel = ds.find((e) => e.tag === PIXEL_DATA);
  if (!pixel) throw new PixelError("PIXEL_MODULE", "Pixel Data (7FE0,0010) is missing");
  assertSyntax(ts);
  const px = decodedModule(ds, ts);
  const codec = codecFor(pixel, px, ts);
  if (config.detector && detected?.length !== px.frames)
    throw new PixelError("PIXEL_NO_TEXT_FINDER", "the profile asks for text detection and it did not run");
  const templates = matchingTemplates(ds, px, config.templates);
  if (templates.length === 0 && !config.detector && config.unmatched === "reject")
    throw new PixelError(
      "PIXEL_NO_TEXT_FINDER",
      "no device template matches Manufacturer, Manufacturer's Model Name, Rows and Columns",
    );
  // YBR_FULL_422 shares chroma between two pixels: boxes cover whole pairs.
  const pairs = (r: Rect): Rect => (px.photometric === "YBR_FULL_422" ? snapToPairs(r, px.cols) : r);
  const fixed: Rect[] = [];
  for (const t of templates)
    for (const r of t.boxes) {
      if (r[0] < 0 || r[1] < 0 || r[0] + r[2] > px.cols || r[1] + r[3] > px.rows)
        throw new PixelError("PIXEL_TEMPLATE_OUT_OF_FRAME", "a template rectangle lies outside the frame");
      const c = padAndClip(r, config.padding, px.rows, px.cols);
      if (c) fixed.push(pairs(c));
    }
  // Detections are padded by at least 15 % of their height (DBNet boxes hug the glyphs).
  const perFrame = Array.from({ length: px.frames }, (_, f) =>
    (detected?.[f] ?? [])
      .map((r) => padAndClip(r, Math.max(config.padding, Math.round(r[3] * 0.15)), px.rows, px.cols))
      .filter((r): r is Rect => r !== null)
      .map(pairs),
  );
  const { frames, planar } = decoded ?? codec.decode();
  const boxesOf = perFrame.map((own) => [...fixed, ...own]);
  const expected = frames.map((f, i) => {
    const copy = Uint8Array.from(f);
    fillBoxes(copy, px, planar, boxesOf[i]!);
    return copy;
  });
  const lossyJpeg = ts.uid === JPEG_BASELINE || ts.uid === JPEG_EXTENDED;
  // Colour JPEG 2000 / HTJ2K is written with RCT: Photometric Interpretation YBR_RCT, every frame.
  const pi = text(ds, PHOTOMETRIC_INTERPRETATION);
  const toRct = isJ2kFamily(ts.uid) && px.spp === 3 && pi !== "YBR_RCT";
  const written: Written = lossyJpeg
    ? writeLossyJpeg(ds, pixel, px, codec, expected, boxesOf, config)
    : {
        element: codec.encode(
          expected,
          boxesOf.map((b) => b.length === 0 && !toRct),
        ),
        attributes: toRct
          ? [attributeChange(PHOTOMETRIC_INTERPRETATION, "PhotometricInterpretation", "CS", pi, "YBR_RCT")]
          : [],
      };
  // Verify what will be written: it decodes to the filled frames (fill inside, original outside;
  // for a DCT-domain edit, the original outside the region it reports as changed).
  const again = written.transferSyntax
    ? compressedCodec(written.element, px, syntaxCodec(written.transferSyntax.uid)!).decode().frames
    : codec.redecode(written.element);
  for (let i = 0; i < px.frames; i++) {
    const changed = written.changed?.[i];
    if (
      again[i]?.length !== expected[i]!.length ||
      // Both: the fill really is in the boxes (a fill that was never applied would still compare equal).
      !boxesHoldFill(again[i]!, px, planar, boxesOf[i]!) ||
      (changed
        ? !holdsOutside(again[i]!, frames[i]!, px, changed)
        : Buffer.compare(again[i]!, expected[i]!) !== 0)
    )
      throw new PixelError("PIXEL_VERIFY", `frame ${i + 1} does not decode to the redacted samples`);
  }
  const boxes: PixelBox[] = [];
  for (let f = 0; f < px.frames; f++) {
    const changed = written.changed?.[f];
    if (changed) {
      // DCT-domain edit: the audit lists the region that changed, and where its box came from
      // (boxesOf lists the template boxes first).
      changed.forEach(([x, y, width, height], k) => {
        const source = written.changedFor![f]![k]! < fixed.length ? "template" : "detector";
        boxes.push({ frame: f + 1, x, y, width, height, source });
      });
      continue;
    }
    for (const [x, y, width, height] of fixed)
      boxes.push({ frame: f + 1, x, y, width, height, source: "template" });
    for (const [x, y, width, height] of perFrame[f]!)
      boxes.push({ frame: f + 1, x, y, width, height, source: "detector" });
  }
  return {
    element: written.element,
    boxes,
    ...(written.transferSyntax ? { transferSyntax: written.transferSyntax } : {}),
    ...(written.attributes.length ? { attributes: written.attributes } : {}),
  };
}

/** Decoded frames (little-endian samples) and their planar layout: for tests, previews and renders. */
export interface DecodedFrames {
  readonly frames: Uint8Array[];
  readonly planar: 0 | 1;
  readonly module: PixelModule;
}

/**
 * One frame (0-based index) decoded, and only it where the syntax allows: for renders. `frame` is
 * undefined when the instance has no such frame (`module.frames` says how many it has).
 */
export function decodeFrame(
  ds: readonly DataElement[],
  ts: TransferSyntax,
  index: number,
): { frame: Uint8Array | undefined; planar: 0 | 1; module: PixelModule } {
  const pixel = ds.find((e) => e.tag === PIXEL_DATA);
  if (!pixel) throw new PixelError("PIXEL_MODULE", "Pixel Data (7FE0,0010) is missing");
  assertSyntax(ts);
  const px = decodedModule(ds, ts);
  const codec = codecFor(pixel, px, ts);
  // RLE and the compressed codecs decode to interleaved samples; native keeps its own layout.
  const planar = ts.encapsulated ? 0 : px.planar;
  if (!Number.isInteger(index) || index < 0 || index >= px.frames)
    return { frame: undefined, planar, module: px };
  return { frame: codec.decodeFrame(index), planar, module: px };
}

export function decodeFrames(ds: readonly DataElement[], ts: TransferSyntax): DecodedFrames {
  const pixel = ds.find((e) => e.tag === PIXEL_DATA);
  if (!pixel) throw new PixelError("PIXEL_MODULE", "Pixel Data (7FE0,0010) is missing");
  assertSyntax(ts);
  const px = decodedModule(ds, ts);
  return { ...codecFor(pixel, px, ts).decode(), module: px };
}
