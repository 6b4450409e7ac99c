/**
 * The JPEG family (baseline 4.50, extended 4.51 up to 12 bits, lossless 4.57 and SV1 4.70): decoded
 * with dcmjs-codecs' NativeCodecs (libjpeg 8/12/16-bit builds; identical to dcmdjpeg on every corpus
 * file), and JPEG lossless SV1 (predictor 1, no point transform) encoded with it at 8, 12 or 16 bits.
 */
import { PixelError } from "../errors.js";
import { checkDecoded, guarded, requireCjs, WasmLibrary } from "./wasm.js";
import { frameBytes, precisionOf, type FrameLayout } from "./types.js";

interface Ctx {
  getEncodedBuffer(): Uint8Array | undefined;
  getDecodedBuffer(): Uint8Array | undefined;
}
interface DcmjsCodecs {
  Context: new (attrs: Record<string, unknown>) => Ctx;
  NativeCodecs: {
    initializeAsync(opts: Record<string, unknown>): Promise<void>;
    isInitialized(): boolean;
    decodeJpeg(c: Ctx, p: Record<string, unknown>): Ctx;
    encodeJpeg(c: Ctx, p: Record<string, unknown>): Ctx;
  };
}

const library = new WasmLibrary<DcmjsCodecs>("JPEG", async () => {
  const l = requireCjs("dcmjs-codecs") as DcmjsCodecs;
  if (!l.NativeCodecs.isInitialized())
    await l.NativeCodecs.initializeAsync({
      webAssemblyModulePathOrUrl: requireCjs.resolve("dcmjs-codecs/build/dcmjs-native-codecs.wasm"),
      logCodecsInfo: false,
      logCodecsTrace: false,
    });
  return l;
});

/** Loads the WASM once per thread (about 0.1-0.25 s). */
export function loadJpeg(): Promise<void> {
  return library.load();
}

function context(l: FrameLayout, buffers: { encodedBuffer?: Uint8Array; decodedBuffer?: Uint8Array }): Ctx {
  return new (library.get().Context)({
    width: l.cols,
    height: l.rows,
    bitsAllocated: l.bitsAllocated,
    bitsStored: l.bitsStored,
    samplesPerPixel: l.spp,
    pixelRepresentation: l.signed ? 1 : 0,
    planarConfiguration: 0,
    photometricInterpretation: l.photometric,
    ...buffers,
  });
}

/** The frame size a JPEG stream's SOF declares, or undefined when there is none before the scan. */
export function sofSize(frame: Uint8Array): { rows: number; cols: number } | undefined {
  let i = 2;
  while (i + 9 <= frame.length) {
    if (frame[i] !== 0xff) return undefined;
    const marker = frame[i + 1]!;
    if (marker === 0xff) {
      i++; // fill byte
      continue;
    }
    if (marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc)
      return { rows: (frame[i + 5]! << 8) | frame[i + 6]!, cols: (frame[i + 7]! << 8) | frame[i + 8]! };
    if (marker === 0xda) return undefined;
    i += 2 + ((frame[i + 2]! << 8) | frame[i + 3]!);
  }
  return undefined;
}

/**
 * One JPEG frame -> little-endian interleaved samples; YCbCr lossy colour comes out as RGB.
 * A stream smaller than Rows x Columns (the right and bottom edge tiles of some whole slide images,
 * against PS3.5 8.2.1) is decoded at its own size and placed top left, zero samples right of and
 * below it: dcmtk zero-fills too, though it lays a narrow tile's samples out at the header's width.
 */
export function decodeJpeg(frame: Uint8Array, l: FrameLayout): Uint8Array {
  const lib = library.get();
  const size = sofSize(frame);
  const smaller =
    size !== undefined &&
    size.rows > 0 &&
    size.cols > 0 &&
    size.rows <= l.rows &&
    size.cols <= l.cols &&
    (size.rows < l.rows || size.cols < l.cols);
  const layout = smaller ? { ...l, rows: size.rows, cols: size.cols } : l;
  const out = guarded("the JPEG decoder", "decode", () =>
    lib.NativeCodecs.decodeJpeg(context(layout, { encodedBuffer: frame }), {
      convertColorspaceToRgb: l.spp === 3,
    }).getDecodedBuffer(),
  );
  if (!out) throw new PixelError("PIXEL_CODEC_ERROR", "the JPEG decoder returned no samples");
  const decoded = checkDecoded("the JPEG decoder", Uint8Array.from(out), layout);
  return smaller ? placeTopLeft(decoded, layout, l) : decoded;
}

function placeTopLeft(tile: Uint8Array, from: FrameLayout, to: FrameLayout): Uint8Array {
  const out = new Uint8Array(frameBytes(to));
  const bpp = to.spp * (to.bitsAllocated / 8);
  const rowIn = from.cols * bpp;
  const rowOut = to.cols * bpp;
  for (let y = 0; y < from.rows; y++) out.set(tile.subarray(y * rowIn, (y + 1) * rowIn), y * rowOut);
  return out;
}

/** JPEG lossless, first-order prediction (selection value 1): valid in 4.57 and 4.70. */
export function encodeJpegLosslessSv1(raw: Uint8Array, l: FrameLayout): Uint8Array {
  const lib = library.get();
  const out = guarded("the JPEG lossless encoder", "encode", () =>
    lib.NativeCodecs.encodeJpeg(context({ ...l, bitsStored: precisionOf(raw, l) }, { decodedBuffer: raw }), {
      lossy: false,
      predictor: 1,
      pointTransform: 0,
    }).getEncodedBuffer(),
  );
  if (!out || out.length === 0)
    throw new PixelError("PIXEL_CODEC_ERROR", "the JPEG lossless encoder returned no bytes");
  return Uint8Array.from(out);
}
