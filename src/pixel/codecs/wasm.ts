/**
 * Shared guards for the WASM codecs: their C++ exceptions arrive as bare numbers (a pointer) or as
 * Errors whose text names codec internals, never pixel values; both become PIXEL_CODEC_ERROR with a
 * fixed message naming the codec (pitfall 3). Emscripten factories get a fresh argument object each
 * (it becomes the Module; pitfall 1) whose print/printErr swallow the codecs' chatter (OpenJPEG prints
 * "[INFO] ..." to stdout on every decode; pitfall 2).
 */
import { createRequire } from "node:module";
import { PixelError } from "../errors.js";
import { frameBytes, type FrameLayout } from "./types.js";

export const requireCjs = createRequire(import.meta.url);

/** A fresh argument object for one Emscripten factory. */
export function quietModuleArgs(): { print: () => void; printErr: () => void } {
  return { print: () => {}, printErr: () => {} };
}

/** Runs one codec call; anything it throws is PIXEL_CODEC_ERROR naming only the codec and the step. */
export function guarded<T>(codec: string, step: "decode" | "encode", run: () => T): T {
  try {
    return run();
  } catch (error) {
    if (error instanceof PixelError) throw error;
    throw new PixelError("PIXEL_CODEC_ERROR", `${codec} could not ${step} a frame`);
  }
}

/** The decoded frame has the size its layout needs, or the codec failed (some fail silently). */
export function checkDecoded(codec: string, out: Uint8Array, l: FrameLayout): Uint8Array {
  if (out.length !== frameBytes(l))
    throw new PixelError(
      "PIXEL_CODEC_ERROR",
      `${codec} decoded ${out.length} bytes where the Image Pixel module needs ${frameBytes(l)}`,
    );
  return out;
}

export function notLoaded(codec: string): never {
  throw new PixelError("PIXEL_CODEC_ERROR", `the ${codec} codec is not loaded (loadCodecs was not awaited)`);
}

/** A WASM library loaded once per thread, on first need; a failed load is tried again next time. */
export class WasmLibrary<T> {
  private lib: T | undefined;
  private loading: Promise<void> | undefined;

  constructor(
    private readonly codec: string,
    private readonly create: () => Promise<T>,
  ) {}

  load(): Promise<void> {
    this.loading ??= this.create().then(
      (lib) => {
        this.lib = lib;
      },
      (error: unknown) => {
        this.loading = undefined;
        throw error;
      },
    );
    return this.loading;
  }

  /** The loaded library; PIXEL_CODEC_ERROR when loadCodecs was not awaited. */
  get(): T {
    return this.lib ?? notLoaded(this.codec);
  }
}

/** An Emscripten codec package's factory, called with its own quiet argument object. */
export function emscripten<T>(module: string): () => Promise<T> {
  return () => (requireCjs(module) as (args: object) => Promise<T>)(quietModuleArgs());
}
