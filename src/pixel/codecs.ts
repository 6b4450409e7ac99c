/**
 * The codecs of the pixel step, per transfer syntax. The WASM ones (src/pixel/codecs/) are loaded
 * here lazily, once per thread and only those a syntax needs, before the synchronous pipeline runs
 * (`loadCodecs`); nothing is imported at module load, so the header-only path loads none. Native and
 * RLE are plain TypeScript and need nothing.
 */
import type { TransferSyntax } from "../dicom/transfer-syntax.js";
import { decodeJ2k, encodeJ2kReversible, loadJ2k } from "./codecs/j2k.js";
import { encodeHtj2kLossless, loadHtj2k } from "./codecs/htj2k.js";
import { decodeJpeg, encodeJpegLosslessSv1, loadJpeg } from "./codecs/jpeg.js";
import { decodeJpegLs, encodeJpegLsLossless, loadJpegLs } from "./codecs/jpegls.js";
import type { FrameLayout } from "./codecs/types.js";

export type { FrameLayout } from "./codecs/types.js";

export const JPEG_BASELINE = "1.2.840.10008.1.2.4.50";
export const JPEG_EXTENDED = "1.2.840.10008.1.2.4.51";
export const JPEG_LOSSLESS = "1.2.840.10008.1.2.4.57";
export const JPEG_LOSSLESS_SV1 = "1.2.840.10008.1.2.4.70";
export const JPEG_LS_LOSSLESS = "1.2.840.10008.1.2.4.80";
export const JPEG_LS_NEAR_LOSSLESS = "1.2.840.10008.1.2.4.81";
export const J2K_LOSSLESS = "1.2.840.10008.1.2.4.90";
export const J2K = "1.2.840.10008.1.2.4.91";
export const HTJ2K_LOSSLESS = "1.2.840.10008.1.2.4.201";
export const HTJ2K_LOSSLESS_RPCL = "1.2.840.10008.1.2.4.202";
export const HTJ2K = "1.2.840.10008.1.2.4.203";

/** How the frames of one encapsulated (non-RLE) syntax are decoded and written back. */
export interface SyntaxCodec {
  readonly name: string;
  decode(frame: Uint8Array, layout: FrameLayout): Uint8Array;
  /**
   * Lossless re-encoding valid inside the same syntax (no new loss); undefined where none exists
   * (JPEG 4.50/4.51: the DCT-domain redactor or the profile's `lossy` policy decide).
   */
  readonly encode?: (raw: Uint8Array, layout: FrameLayout) => Uint8Array;
  /** A fragment that begins a frame's codestream (frames without a Basic Offset Table). */
  startsFrame(fragment: Uint8Array): boolean;
  /** Lossy Image Compression Method (0028,2114) of the syntax's lossy coding, when it is lossy. */
  readonly lossyMethod?: string;
  /** The WASM modules the syntax needs, transcoding included. */
  readonly load: readonly (() => Promise<void>)[];
}

const soi = (f: Uint8Array): boolean => f[0] === 0xff && f[1] === 0xd8;
/** J2K codestream (SOC) or a JP2 box header. */
const soc = (f: Uint8Array): boolean =>
  (f[0] === 0xff && f[1] === 0x4f) || (f[4] === 0x6a && f[5] === 0x50 && f[6] === 0x20 && f[7] === 0x20);

const jpegLossy = (name: string): SyntaxCodec => ({
  name,
  decode: decodeJpeg,
  startsFrame: soi,
  lossyMethod: "ISO_10918_1",
  load: [loadJpeg],
});
const jpegLossless = (name: string): SyntaxCodec => ({
  name,
  decode: decodeJpeg,
  encode: encodeJpegLosslessSv1,
  startsFrame: soi,
  load: [loadJpeg],
});
const jpegLs = (name: string, lossyMethod?: string): SyntaxCodec => ({
  name,
  decode: decodeJpegLs,
  encode: encodeJpegLsLossless,
  startsFrame: soi,
  ...(lossyMethod ? { lossyMethod } : {}),
  load: [loadJpegLs],
});
const j2k = (name: string, lossyMethod?: string): SyntaxCodec => ({
  name,
  decode: decodeJ2k,
  encode: encodeJ2kReversible,
  startsFrame: soc,
  ...(lossyMethod ? { lossyMethod } : {}),
  load: [loadJ2k],
});
const htj2k = (name: string, rpcl: boolean): SyntaxCodec => ({
  name,
  decode: decodeJ2k,
  encode: (raw, l) => encodeHtj2kLossless(raw, l, rpcl),
  startsFrame: soc,
  load: [loadJ2k, loadHtj2k],
});

const CODECS: Readonly<Record<string, SyntaxCodec>> = {
  [JPEG_BASELINE]: jpegLossy("JPEG baseline"),
  [JPEG_EXTENDED]: jpegLossy("JPEG extended"),
  [JPEG_LOSSLESS]: jpegLossless("JPEG lossless"),
  [JPEG_LOSSLESS_SV1]: jpegLossless("JPEG lossless SV1"),
  [JPEG_LS_LOSSLESS]: jpegLs("JPEG-LS lossless"),
  [JPEG_LS_NEAR_LOSSLESS]: jpegLs("JPEG-LS near-lossless", "ISO_14495_1"),
  [J2K_LOSSLESS]: j2k("JPEG 2000 lossless"),
  [J2K]: j2k("JPEG 2000", "ISO_15444_1"),
  [HTJ2K_LOSSLESS]: htj2k("HTJ2K lossless", false),
  [HTJ2K_LOSSLESS_RPCL]: htj2k("HTJ2K lossless RPCL", true),
  [HTJ2K]: htj2k("HTJ2K", false),
};

/** JPEG 2000 and HTJ2K: colour decodes to RGB and is written with RCT (YBR_RCT). */
export function isJ2kFamily(uid: string): boolean {
  return CODECS[uid]?.startsFrame === soc;
}

/** The codec of an encapsulated syntax other than RLE, or undefined when the step has none. */
export function syntaxCodec(uid: string): SyntaxCodec | undefined {
  return CODECS[uid];
}

/** Loads whatever the codec of `ts` needs; resolves at once when it needs nothing or is loaded. */
export async function loadCodecs(ts: TransferSyntax): Promise<void> {
  const codec = ts.encapsulated ? CODECS[ts.uid] : undefined;
  if (codec) await Promise.all(codec.load.map((load) => load()));
}
