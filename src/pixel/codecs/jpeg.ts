/**
 * The JPEG family (baseline 4.50, extended 4.51 up to 12 bits, lossless 4.57 and SV1 4.70): decoded
 * with dcmjs-codecs' NativeCodecs (libjpeg 8/12/16-bit builds; identical to dcmdjpeg on every corpus
 * file), and JPEG lossless SV1 (predictor 1, no point transform) encoded with it at 8, 12 or 16 bits.
 */
import { PixelError } from "../errors.js";
import { checkDecoded, guarded, requireCjs, WasmLibrary } from "./wasm.js";
import { precisionOf, type FrameLayout } from "./types.js";

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

/** One JPEG frame -> little-endian interleaved samples; YCbCr lossy colour comes out as RGB. */
export function decodeJpeg(frame: Uint8Array, l: FrameLayout): Uint8Array {
  const lib = library.get();
  const out = guarded("the JPEG decoder", "decode", () =>
    lib.NativeCodecs.decodeJpeg(context(l, { encodedBuffer: frame }), {
      convertColorspaceToRgb: l.spp === 3,
    }).getDecodedBuffer(),
  );
  if (!out) throw new PixelError("PIXEL_CODEC_ERROR", "the JPEG decoder returned no samples");
  return checkDecoded("the JPEG decoder", Uint8Array.from(out), l);
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
