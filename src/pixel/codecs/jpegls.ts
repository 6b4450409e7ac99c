/** JPEG-LS (4.80 lossless, 4.81 near-lossless): CharLS via @cornerstonejs/codec-charls. */
import { PixelError } from "../errors.js";
import { checkDecoded, emscripten, guarded, WasmLibrary } from "./wasm.js";
import { precisionOf, type FrameLayout } from "./types.js";

interface FrameInfo {
  width: number;
  height: number;
  bitsPerSample: number;
  componentCount: number;
}
interface Decoder {
  getEncodedBuffer(n: number): Uint8Array;
  decode(): void;
  getFrameInfo(): FrameInfo;
  getInterleaveMode(): number;
  getDecodedBuffer(): Uint8Array;
  delete(): void;
}
interface Encoder {
  getDecodedBuffer(f: FrameInfo): Uint8Array;
  setNearLossless(n: number): void;
  setInterleaveMode(m: number): void;
  encode(): void;
  getEncodedBuffer(): Uint8Array;
  delete(): void;
}
interface CharLS {
  JpegLSDecoder: new () => Decoder;
  JpegLSEncoder: new () => Encoder;
}

const library = new WasmLibrary<CharLS>("JPEG-LS", emscripten("@cornerstonejs/codec-charls/wasmjs"));

export function loadJpegLs(): Promise<void> {
  return library.load();
}

/** Planar (interleave mode "none") colour -> interleaved. */
function interleave(planes: Uint8Array, l: FrameLayout): Uint8Array {
  const bps = l.bitsAllocated / 8;
  const n = l.rows * l.cols;
  const out = new Uint8Array(planes.length);
  for (let s = 0; s < l.spp; s++)
    for (let i = 0; i < n; i++)
      for (let b = 0; b < bps; b++) out[(i * l.spp + s) * bps + b] = planes[(s * n + i) * bps + b]!;
  return out;
}

export function decodeJpegLs(frame: Uint8Array, l: FrameLayout): Uint8Array {
  const lib = library.get();
  return guarded("the JPEG-LS decoder", "decode", () => {
    const d = new lib.JpegLSDecoder();
    try {
      d.getEncodedBuffer(frame.length).set(frame);
      d.decode();
      const info = d.getFrameInfo();
      if (info.width !== l.cols || info.height !== l.rows || info.componentCount !== l.spp)
        throw new PixelError(
          "PIXEL_CODEC_ERROR",
          "a JPEG-LS frame does not match Rows, Columns or Samples per Pixel",
        );
      const out = Uint8Array.from(d.getDecodedBuffer());
      return checkDecoded(
        "the JPEG-LS decoder",
        l.spp > 1 && d.getInterleaveMode() === 0 ? interleave(out, l) : out,
        l,
      );
    } finally {
      d.delete();
    }
  });
}

/** Lossless (NEAR = 0) JPEG-LS: valid in 4.80 and, with no new loss, in 4.81. */
export function encodeJpegLsLossless(raw: Uint8Array, l: FrameLayout): Uint8Array {
  const lib = library.get();
  return guarded("the JPEG-LS encoder", "encode", () => {
    const e = new lib.JpegLSEncoder();
    try {
      e.getDecodedBuffer({
        width: l.cols,
        height: l.rows,
        bitsPerSample: precisionOf(raw, l),
        componentCount: l.spp,
      }).set(raw);
      e.setNearLossless(0);
      if (l.spp > 1) e.setInterleaveMode(2); // sample-interleaved, as the decoded layout
      e.encode();
      return Uint8Array.from(e.getEncodedBuffer());
    } finally {
      e.delete();
    }
  });
}
