/**
 * JPEG 2000 (4.90 reversible, 4.91) and the decoding of HTJ2K (4.201-4.203): OpenJPEG via
 * @cornerstonejs/codec-openjpeg; reversible (5/3 wavelet, lossless) encoding for 4.90 and 4.91.
 */
import { PixelError } from "../errors.js";
import { checkDecoded, emscripten, guarded, WasmLibrary } from "./wasm.js";
import { precisionOf, type FrameLayout } from "./types.js";

export interface J2kFrameInfo {
  width: number;
  height: number;
  bitsPerSample: number;
  componentCount: number;
  isSigned: boolean;
  isUsingColorTransform?: boolean;
}
export interface J2kDecoder {
  getEncodedBuffer(n: number): Uint8Array;
  decode(): void;
  getFrameInfo(): J2kFrameInfo;
  getDecodedBuffer(): Uint8Array;
  delete(): void;
}
export interface J2kEncoder {
  getDecodedBuffer(f: J2kFrameInfo): Uint8Array;
  setQuality(lossless: boolean, quality: number): void;
  setProgressionOrder?(order: number): void;
  encode(): void;
  getEncodedBuffer(): Uint8Array;
  delete(): void;
}
interface OpenJpeg {
  J2KDecoder: new () => J2kDecoder;
  J2KEncoder: new () => J2kEncoder;
}

const library = new WasmLibrary<OpenJpeg>("JPEG 2000", emscripten("@cornerstonejs/codec-openjpeg/wasmjs"));

export function loadJ2k(): Promise<void> {
  return library.load();
}

/** A J2K or HTJ2K codestream -> little-endian interleaved samples. */
export function decodeJ2k(frame: Uint8Array, l: FrameLayout): Uint8Array {
  const lib = library.get();
  return guarded("the JPEG 2000 decoder", "decode", () => {
    const d = new lib.J2KDecoder();
    try {
      d.getEncodedBuffer(frame.length).set(frame);
      d.decode();
      const info = d.getFrameInfo();
      // OpenJPEG reports a broken codestream as a 0x0 image instead of throwing.
      if (info.width !== l.cols || info.height !== l.rows || info.componentCount !== l.spp)
        throw new PixelError(
          "PIXEL_CODEC_ERROR",
          "a JPEG 2000 frame does not decode to Rows x Columns x Samples per Pixel",
        );
      return checkDecoded("the JPEG 2000 decoder", Uint8Array.from(d.getDecodedBuffer()), l);
    } finally {
      d.delete();
    }
  });
}

export function j2kFrameInfo(l: FrameLayout, raw: Uint8Array): J2kFrameInfo {
  return {
    width: l.cols,
    height: l.rows,
    bitsPerSample: precisionOf(raw, l),
    componentCount: l.spp,
    isSigned: l.signed,
    // Colour is always written with the reversible colour transform (RCT, Photometric Interpretation
    // YBR_RCT): OpenJPEG's encoder applies it to 3 components anyway, and OpenJPH's output without
    // it does not decode to the same samples in OpenJPEG or ojph_expand (measured).
    isUsingColorTransform: l.spp === 3,
  };
}

/** Reversible JPEG 2000 (lossless), no colour transform. */
export function encodeJ2kReversible(raw: Uint8Array, l: FrameLayout): Uint8Array {
  const lib = library.get();
  return guarded("the JPEG 2000 encoder", "encode", () => {
    const e = new lib.J2KEncoder();
    try {
      e.getDecodedBuffer(j2kFrameInfo(l, raw)).set(raw);
      e.setQuality(true, 0);
      e.encode();
      return Uint8Array.from(e.getEncodedBuffer());
    } finally {
      e.delete();
    }
  });
}
