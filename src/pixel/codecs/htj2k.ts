/**
 * HTJ2K encoding (4.201 lossless, 4.202 lossless RPCL, 4.203): OpenJPH via
 * @cornerstonejs/codec-openjph, always reversible. Decoding goes through OpenJPEG (j2k.ts), which
 * reads HTJ2K; OpenJPH does not read Part-1 J2K (pitfall 5).
 */
import { emscripten, guarded, WasmLibrary } from "./wasm.js";
import { j2kFrameInfo, type J2kEncoder } from "./j2k.js";
import type { FrameLayout } from "./types.js";

interface OpenJph {
  HTJ2KEncoder: new () => J2kEncoder;
}

const library = new WasmLibrary<OpenJph>("HTJ2K", emscripten("@cornerstonejs/codec-openjph/wasmjs"));

export function loadHtj2k(): Promise<void> {
  return library.load();
}

/** RPCL progression order (4.202 requires it), as OpenJPH numbers the orders (LRCP = 0). */
const RPCL = 2;

export function encodeHtj2kLossless(raw: Uint8Array, l: FrameLayout, rpcl: boolean): Uint8Array {
  const lib = library.get();
  return guarded("the HTJ2K encoder", "encode", () => {
    const e = new lib.HTJ2KEncoder();
    try {
      e.getDecodedBuffer(j2kFrameInfo(l, raw)).set(raw);
      e.setQuality(true, 0);
      if (rpcl) e.setProgressionOrder?.(RPCL);
      e.encode();
      return Uint8Array.from(e.getEncodedBuffer());
    } finally {
      e.delete();
    }
  });
}
