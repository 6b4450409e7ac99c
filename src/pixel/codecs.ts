/**
 * Codecs that need asynchronous set-up (WASM modules) are loaded here, once per thread, before the
 * synchronous pipeline runs. Native and RLE need none.
 */
import type { TransferSyntax } from "../dicom/transfer-syntax.js";

/** Loads whatever the codec of `ts` needs; resolves at once when it needs nothing or is loaded. */
export async function loadCodecs(_ts: TransferSyntax): Promise<void> {
  // Native and RLE are plain TypeScript.
}
