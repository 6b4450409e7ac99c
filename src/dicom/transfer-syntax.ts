/** Transfer syntaxes (PS3.5 10, PS3.6 Annex A): how a dataset is encoded. */

export interface Encoding {
  readonly littleEndian: boolean;
  readonly explicitVr: boolean;
}

export interface TransferSyntax {
  readonly uid: string;
  readonly encoding: Encoding;
  /** The dataset after the File Meta is a raw deflate stream (PS3.5 A.5). */
  readonly deflated: boolean;
  /** Pixel Data is a sequence of fragments; we pass it through untouched. */
  readonly encapsulated: boolean;
}

export const IMPLICIT_LE: Encoding = Object.freeze({ littleEndian: true, explicitVr: false });
export const EXPLICIT_LE: Encoding = Object.freeze({ littleEndian: true, explicitVr: true });
export const EXPLICIT_BE: Encoding = Object.freeze({ littleEndian: false, explicitVr: true });

export const IMPLICIT_VR_LITTLE_ENDIAN = "1.2.840.10008.1.2";
export const EXPLICIT_VR_LITTLE_ENDIAN = "1.2.840.10008.1.2.1";
export const DEFLATED_EXPLICIT_VR_LITTLE_ENDIAN = "1.2.840.10008.1.2.1.99";
export const EXPLICIT_VR_BIG_ENDIAN = "1.2.840.10008.1.2.2";

const NATIVE: Record<string, TransferSyntax> = {
  [IMPLICIT_VR_LITTLE_ENDIAN]: syntax(IMPLICIT_VR_LITTLE_ENDIAN, IMPLICIT_LE, false, false),
  [EXPLICIT_VR_LITTLE_ENDIAN]: syntax(EXPLICIT_VR_LITTLE_ENDIAN, EXPLICIT_LE, false, false),
  [DEFLATED_EXPLICIT_VR_LITTLE_ENDIAN]: syntax(DEFLATED_EXPLICIT_VR_LITTLE_ENDIAN, EXPLICIT_LE, true, false),
  [EXPLICIT_VR_BIG_ENDIAN]: syntax(EXPLICIT_VR_BIG_ENDIAN, EXPLICIT_BE, false, false),
};

function syntax(uid: string, encoding: Encoding, deflated: boolean, encapsulated: boolean): TransferSyntax {
  return Object.freeze({ uid, encoding, deflated, encapsulated });
}

/**
 * Every encapsulated syntax is Explicit VR Little Endian with fragments in Pixel Data: JPEG (1.2.4.x,
 * including JPEG-LS, JPEG 2000, HTJ2K, MPEG, HEVC, JPEG XL), RLE (1.2.5), Encapsulated Uncompressed
 * (1.2.1.98), and the deflated-image syntax 1.2.8.1.
 */
const ENCAPSULATED = /^1\.2\.840\.10008\.1\.2\.(4\.\d+(\.\d+)?|5|1\.98|8\.1)$/;

/** The syntax for a UID, or undefined when we do not know how it is encoded (the caller rejects it). */
export function transferSyntaxOf(uid: string): TransferSyntax | undefined {
  const native = NATIVE[uid];
  if (native) return native;
  if (ENCAPSULATED.test(uid)) return syntax(uid, EXPLICIT_LE, false, true);
  return undefined;
}
