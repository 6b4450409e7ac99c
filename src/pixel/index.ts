/**
 * The Clean Pixel Data step, called by the engine through `cleanPixelData` only when a profile has a
 * `pixel` block and the instance is in its scope: decode -> find text (device templates) -> redact
 * (padded boxes, the photometric interpretation's black) -> encode into the input's transfer syntax ->
 * re-decode and check -> the new Pixel Data element. Anything it cannot do safely is a PixelError
 * with a PIXEL_* code (the instance is refused).
 */
import type { DataElement } from "../dicom/element.js";
import { BURNED_IN_ANNOTATION, MODALITY, PIXEL_DATA, SOP_CLASS_UID, tagOf } from "../dicom/tag.js";
import type { TransferSyntax } from "../dicom/transfer-syntax.js";
import { asciiValue } from "../dicom/values.js";
import type { PixelConfig, PixelTemplate, Rect } from "./config.js";
import { PixelError } from "./errors.js";
import { encapsulate, encapsulatedFrames, swapInPlace } from "./frames.js";
import { pixelModule, type PixelModule } from "./module.js";
import { boxesHoldFill, fillBoxes, padAndClip } from "./redact.js";
import { rleDecodeFrame, rleEncodeFrame } from "./rle.js";

export type { PixelConfig, PixelTemplate, Rect } from "./config.js";
export { PixelError } from "./errors.js";

export const RLE_LOSSLESS = "1.2.840.10008.1.2.5";
const MANUFACTURER = tagOf(0x0008, 0x0070);
const MODEL = tagOf(0x0008, 0x1090);
const SOFTWARE_VERSIONS = tagOf(0x0018, 0x1020);

export interface PixelBox {
  readonly frame: number;
  readonly x: number;
  readonly y: number;
  readonly width: number;
  readonly height: number;
  readonly source: "template" | "detector";
}

export interface PixelResult {
  /** The new Pixel Data element (same VR, same encapsulation). */
  readonly element: DataElement;
  /** Every filled box, padded and clipped, per frame. */
  readonly boxes: readonly PixelBox[];
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
  encode(frames: readonly Uint8Array[]): DataElement;
  /** Decodes an element this codec wrote (verification). */
  redecode(element: DataElement): Uint8Array[];
}

function nativeCodec(pixel: DataElement, px: PixelModule, ts: TransferSyntax): Codec {
  const bps = px.bitsAllocated / 8;
  const frameBytes = px.rows * px.cols * px.spp * bps;
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
    return Array.from({ length: px.frames }, (_, i) => le.subarray(i * frameBytes, (i + 1) * frameBytes));
  };
  return {
    decode: () => ({ frames: split(value), planar: px.planar }),
    encode(frames) {
      const out = Buffer.from(value); // trailing padding past the last frame is kept as it is
      frames.forEach((f, i) => out.set(f, i * frameBytes));
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
    encode: (frames) => ({
      ...pixel,
      fragments: encapsulate(frames.map((f) => rleEncodeFrame(f, layout))),
      undefinedLength: true,
    }),
    redecode: (element) => decodeAll(element.fragments!),
  };
}

/** Refuses transfer syntaxes without a codec here, before anything else is looked at. */
function assertSyntax(ts: TransferSyntax): void {
  if (ts.encapsulated && ts.uid !== RLE_LOSSLESS)
    throw new PixelError(
      "PIXEL_UNSUPPORTED_SYNTAX",
      "the pixel step has no codec for this transfer syntax yet (native and RLE only)",
    );
}

/** The codec of a syntax assertSyntax accepted (checked before the header is read). */
function codecFor(pixel: DataElement, px: PixelModule, ts: TransferSyntax): Codec {
  return ts.encapsulated ? rleCodec(pixel, px) : nativeCodec(pixel, px, ts);
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
): PixelResult {
  const pixel = ds.find((e) => e.tag === PIXEL_DATA);
  if (!pixel) throw new PixelError("PIXEL_MODULE", "Pixel Data (7FE0,0010) is missing");
  assertSyntax(ts);
  const px = pixelModule(ds, ts.encoding.littleEndian);
  const codec = codecFor(pixel, px, ts);
  if (config.detector && detected?.length !== px.frames)
    throw new PixelError("PIXEL_NO_TEXT_FINDER", "the profile asks for text detection and it did not run");
  const templates = matchingTemplates(ds, px, config.templates);
  if (templates.length === 0 && !config.detector && config.unmatched === "reject")
    throw new PixelError(
      "PIXEL_NO_TEXT_FINDER",
      "no device template matches Manufacturer, Manufacturer's Model Name, Rows and Columns",
    );
  const fixed: Rect[] = [];
  for (const t of templates)
    for (const r of t.boxes) {
      if (r[0] < 0 || r[1] < 0 || r[0] + r[2] > px.cols || r[1] + r[3] > px.rows)
        throw new PixelError("PIXEL_TEMPLATE_OUT_OF_FRAME", "a template rectangle lies outside the frame");
      const c = padAndClip(r, config.padding, px.rows, px.cols);
      if (c) fixed.push(c);
    }
  // Detections are padded by at least 15 % of their height (DBNet boxes hug the glyphs).
  const perFrame = Array.from({ length: px.frames }, (_, f) =>
    (detected?.[f] ?? [])
      .map((r) => padAndClip(r, Math.max(config.padding, Math.round(r[3] * 0.15)), px.rows, px.cols))
      .filter((r): r is Rect => r !== null),
  );
  const { frames, planar } = codec.decode();
  const boxesOf = perFrame.map((own) => [...fixed, ...own]);
  const expected = frames.map((f, i) => {
    const copy = Uint8Array.from(f);
    fillBoxes(copy, px, planar, boxesOf[i]!);
    return copy;
  });
  const element = codec.encode(expected);
  // Verify what will be written: it decodes to exactly the filled frames (fill inside, original outside).
  const again = codec.redecode(element);
  for (let i = 0; i < px.frames; i++) {
    if (
      // Both: the fill really is in the boxes (a fill that was never applied would still compare equal).
      !boxesHoldFill(again[i]!, px, planar, boxesOf[i]!) ||
      Buffer.compare(again[i]!, expected[i]!) !== 0
    )
      throw new PixelError("PIXEL_VERIFY", `frame ${i + 1} does not decode to the redacted samples`);
  }
  const boxes: PixelBox[] = [];
  for (let f = 0; f < px.frames; f++) {
    for (const [x, y, width, height] of fixed)
      boxes.push({ frame: f + 1, x, y, width, height, source: "template" });
    for (const [x, y, width, height] of perFrame[f]!)
      boxes.push({ frame: f + 1, x, y, width, height, source: "detector" });
  }
  return { element, boxes };
}

/** Decoded frames (little-endian samples) and their planar layout: for tests, previews and renders. */
export function decodeFrames(
  ds: readonly DataElement[],
  ts: TransferSyntax,
): { frames: Uint8Array[]; planar: 0 | 1; module: PixelModule } {
  const pixel = ds.find((e) => e.tag === PIXEL_DATA);
  if (!pixel) throw new PixelError("PIXEL_MODULE", "Pixel Data (7FE0,0010) is missing");
  const px = pixelModule(ds, ts.encoding.littleEndian);
  return { ...codecFor(pixel, px, ts).decode(), module: px };
}
