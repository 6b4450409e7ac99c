/**
 * Checks a value against its VR (PS3.5 6.2, Table 6.2-1) before the engine may keep it.
 *
 * A wrong length makes an element swallow the elements after it (a Modality of 202 bytes that holds
 * the Patient Name and ID): keeping that value would release the swallowed values under a tag no rule
 * looks at. Two defences live here:
 *   - `checkValue`: values of VRs with a tight character repertoire or size (AE AS CS DA DS DT IS TM
 *     UI, fixed-size binary VRs, even-length OB/OW/...) must fit it; a swallowed header never does.
 *   - `headerRun`: values of VRs without a tight limit (LO SH PN LT ST UT UC UR UN, binary) are searched
 *     for a run of element headers of this dataset's encoding with ascending tags after the element.
 *
 * The checks are lenient where real files are (trailing NUL or space padding, lower case in CS, legacy
 * date forms, over-long values of text VRs) and strict where a swallowed header cannot hide. Messages
 * name VRs, lengths and byte positions, never the value.
 */
import { lookupTag, tagsWithVr } from "./dictionary.js";
import { PIXEL_DATA, type Tag } from "./tag.js";
import type { Encoding } from "./transfer-syntax.js";
import { BINARY_WIDTH, KNOWN_VRS, LONG_LENGTH_VRS } from "./vr.js";

interface StringRule {
  /** Maximum bytes of one value (between backslashes), after trimming padding. */
  readonly max: number;
  /** Every byte of the value must pass. */
  readonly allowed: (byte: number) => boolean;
}

const digit = (b: number): boolean => b >= 0x30 && b <= 0x39;
const oneOf =
  (chars: string) =>
  (b: number): boolean =>
    digit(b) || chars.includes(String.fromCharCode(b));
/** Printable ASCII without backslash (the value separator). */
const printable = (b: number): boolean => b >= 0x20 && b <= 0x7e && b !== 0x5c;

/**
 * PS3.5 Table 6.2-1. Maximum lengths allow the forms real files carry: DA "yyyy.mm.dd" (ACR-NEMA) and
 * date/time ranges (18/54/28 bytes), TM "hh:mm:ss.frac". CS allows lower case and any printable
 * character (dcmtk and pydicom read them; real vendor values have them): the repertoire check is
 * there to catch header bytes (NUL, control, high bytes), not to judge style.
 */
const RULES_AS_PREDICATES: Record<string, StringRule> = {
  AE: { max: 16, allowed: printable },
  AS: { max: 4, allowed: oneOf("DWMY ") },
  CS: { max: 16, allowed: printable },
  DA: { max: 18, allowed: oneOf(".- ") },
  DS: { max: 16, allowed: oneOf("+-Ee. ") },
  DT: { max: 54, allowed: oneOf("+-.: ") },
  IS: { max: 12, allowed: oneOf("+- ") },
  TM: { max: 28, allowed: oneOf(".:- ") },
  // Real files carry hex and UUID-style instance UIDs (dcmtk and pydicom read them; the profiles
  // remap them): letters and '-' are tolerated, binary bytes are not.
  UI: { max: 64, allowed: (b) => oneOf(".- ")(b) || (b >= 0x41 && b <= 0x5a) || (b >= 0x61 && b <= 0x7a) },
};

/** The repertoires as 256-entry tables, built once: the check runs on every byte of these VRs. */
const STRING_RULES: Record<string, StringRule> = Object.fromEntries(
  Object.entries(RULES_AS_PREDICATES).map(([vr, rule]) => {
    const table = new Uint8Array(256);
    for (let b = 0; b < 256; b++) table[b] = rule.allowed(b) ? 1 : 0;
    return [vr, { max: rule.max, allowed: (b: number) => table[b] === 1 }];
  }),
);

/** Word sizes of the "other" VRs (OB is bytes: any length is read by dcmtk and pydicom). */
const OTHER_WIDTH: Record<string, number> = { OW: 2, OF: 4, OL: 4, OD: 8, OV: 8 };

/**
 * How a value breaks its VR. `unsafe`: it holds bytes its VR never has (control, NUL, non-ASCII) or a
 * size its VR cannot have: it may hold what a wrong length swallowed. Otherwise only its format is off
 * (printable, e.g. "1A" in an IS, a 26-character CS): it cannot hold an element header.
 */
export interface Broken {
  readonly problem: string;
  readonly unsafe: boolean;
}

/** How a value breaks its VR, or undefined when it fits. Never includes the value. */
export function checkValue(vr: string, value: Uint8Array): Broken | undefined {
  const rule = STRING_RULES[vr];
  if (rule) return checkString(vr, rule, value);
  const width = BINARY_WIDTH[vr] ?? OTHER_WIDTH[vr];
  if (width !== undefined && value.length % width !== 0)
    return { problem: `length ${value.length} is not a multiple of ${width} for VR ${vr}`, unsafe: true };
  return undefined;
}

function checkString(vr: string, rule: StringRule, value: Uint8Array): Broken | undefined {
  // Trailing padding: NUL (UI, and many writers for any VR) and spaces.
  let end = value.length;
  while (end > 0 && (value[end - 1] === 0x00 || value[end - 1] === 0x20)) end--;
  let start = 0;
  for (let i = 0; i <= end; i++) {
    if (i === end || value[i] === 0x5c) {
      let s = start;
      let e = i;
      while (s < e && value[s] === 0x20) s++;
      while (e > s && (value[e - 1] === 0x20 || value[e - 1] === 0x00)) e--;
      if (e - s > rule.max)
        return {
          problem: `a value of ${e - s} bytes exceeds the maximum ${rule.max} of VR ${vr}`,
          unsafe: false,
        };
      start = i + 1;
      continue;
    }
    const b = value[i]!;
    if (!rule.allowed(b)) {
      return {
        problem: `byte ${i} is not in the character repertoire of VR ${vr}`,
        unsafe: !printable(b),
      };
    }
  }
  return undefined;
}

/**
 * Attributes whose value is needed to identify the instance or decode it: a broken value here refuses
 * the instance instead of being removed (removing would change what the instance is, or make its pixel
 * data undecodable).
 */
export const REFUSE_WHEN_BROKEN: ReadonlySet<Tag> = new Set([
  0x00080016, // SOP Class UID
  0x00080018, // SOP Instance UID
  0x0020000d, // Study Instance UID
  0x0020000e, // Series Instance UID
  0x00020010, // Transfer Syntax UID
  0x00280002, // Samples per Pixel
  0x00280004, // Photometric Interpretation
  0x00280006, // Planar Configuration
  0x00280008, // Number of Frames
  0x00280010, // Rows
  0x00280011, // Columns
  0x00280100, // Bits Allocated
  0x00280101, // Bits Stored
  0x00280102, // High Bit
  0x00280103, // Pixel Representation
  PIXEL_DATA,
]);

/** Patient attributes of Type 1/2 in the Patient Module: their absence next to a header run refuses. */
export const PATIENT_ATTRIBUTES: readonly Tag[] = [0x00100010, 0x00100020, 0x00100030, 0x00100040];

/** VRs whose values are searched for swallowed element headers. */
export function mayHideHeaders(vr: string, tag: Tag): boolean {
  if (tag === PIXEL_DATA) return false;
  return !(vr in STRING_RULES);
}

/**
 * The longest run of consecutive plausible element headers found in `value` (0 when none): a header
 * whose tag is above `after` (ascending order, as the swallowed elements were), whose group is a real
 * one, whose VR is known (explicit VR) or whose tag the dictionary knows / is private (implicit VR), and
 * whose length keeps it inside `value` or lets the next header follow. A run of 2 is the signature of
 * swallowed elements; one header counts when the caller knows patient attributes are missing.
 */
export interface HeaderRun {
  /**
   * The value holds a chain of element headers as swallowed elements do: 4+ chained headers, 2+ that
   * reach or run past the value's end, or one whose element ends exactly where the value ends.
   */
  readonly swallows: boolean;
  /** Headers in the longest chain found (the swallowing one when `swallows`). */
  readonly run: number;
  readonly tags: readonly Tag[];
  /** A header of a patient attribute (Patient Name/ID/Birth Date/Sex) found anywhere in the value. */
  readonly patientHeader: Tag | undefined;
}

/**
 * This many chained headers in the window are swallowed elements wherever the chain stops (at an
 * undefined-length sequence it cannot follow, say): no coincidence in real values comes close.
 */
const LONG_CHAIN = 4;

const NO_RUN: HeaderRun = { swallows: false, run: 0, tags: [], patientHeader: undefined };

/**
 * Searches `value` for the headers of swallowed elements: tags between the swallowing element's
 * (`after`) and the next element read after it (`before`), known to the dictionary with a VR it allows
 * (or private), chained by their lengths towards the value's end. The window, the dictionary and the
 * chain keep coincidences in binary and private values (palettes, vendor headers) out. Linear in the
 * value's length: most offsets are rejected on two or three bytes.
 */
export function headerRun(value: Uint8Array, enc: Encoding, after: Tag, before = 0xffffffff): HeaderRun {
  const n = value.length;
  if (n < 8 || before <= after + 1) return NO_RUN;
  const view = Buffer.from(value.buffer, value.byteOffset, value.byteLength);
  // A value that starts with an Item is a sequence kept as bytes (a UN holding a private SQ): its
  // headers are its items' contents, not swallowed elements. The engine never keeps such a UN as text.
  if (view.readUInt32LE(0) === 0xe000fffe || view.readUInt32BE(0) === 0xfffee000) return NO_RUN;
  const le = enc.littleEndian;
  const explicit = enc.explicitVr;
  const lowGroup = Math.max(after >>> 16, 0x0008);
  const highGroup = Math.min(before >>> 16, 0xfffc); // up to Data Set Trailing Padding (FFFC,FFFC)
  const groups = knownGroups();
  const v = new Uint8Array(value.buffer, value.byteOffset, n);
  let longest: Tag[] = [];
  let patientHeader: Tag | undefined;
  for (let i = 0; i + 8 <= n; i++) {
    // Cheap rejections on raw bytes first: nearly every offset ends here.
    const group = le ? v[i]! | (v[i + 1]! << 8) : (v[i]! << 8) | v[i + 1]!;
    if (group < lowGroup || group > highGroup) continue;
    if ((group & 1) === 0 && groups[group] === 0) continue;
    if (explicit) {
      const a = v[i + 4]!;
      const b = v[i + 5]!;
      if (a < 0x41 || a > 0x5a || b < 0x41 || b > 0x5a) continue;
    } else {
      const length = le
        ? (v[i + 4]! | (v[i + 5]! << 8) | (v[i + 6]! << 16) | (v[i + 7]! << 24)) >>> 0
        : ((v[i + 4]! << 24) | (v[i + 5]! << 16) | (v[i + 6]! << 8) | v[i + 7]!) >>> 0;
      if (length !== 0xffffffff && length > n - i - 8 + 0x10000) continue;
    }
    let at = i;
    let previous = after;
    const tags: Tag[] = [];
    let end: "inside" | "exact" | "past" = "inside";
    for (;;) {
      const h = headerAt(view, at, enc);
      if (!h || h.tag <= previous || h.tag >= before) break;
      tags.push(h.tag);
      previous = h.tag;
      const next = at + h.size + h.length;
      if (h.length === 0xffffffff) break;
      if (next >= n) {
        end = next === n ? "exact" : "past";
        break;
      }
      if (next + 8 > n) {
        end = "past"; // the next header is cut by the value's end
        break;
      }
      at = next;
    }
    if (tags.length === 0) continue;
    patientHeader ??= tags.find((t) => PATIENT_ATTRIBUTES.includes(t));
    if (
      tags.length >= LONG_CHAIN ||
      (tags.length >= 2 && end !== "inside") ||
      (tags.length === 1 && end === "exact")
    )
      return { swallows: true, run: tags.length, tags, patientHeader };
    if (tags.length > longest.length) longest = tags;
  }
  return { swallows: false, run: longest.length, tags: longest, patientHeader };
}

let groupBitmap: Uint8Array | undefined;

/** 1 for every even group the dictionary has a tag in (repeating groups 50xx/60xx included). */
function knownGroups(): Uint8Array {
  if (groupBitmap) return groupBitmap;
  const bitmap = new Uint8Array(0x10000);
  for (const tag of tagsWithVr(KNOWN_VRS_AND_PSEUDO)) bitmap[tag >>> 16] = 1;
  for (let g = 0x5000; g <= 0x501e; g += 2) bitmap[g] = 1;
  for (let g = 0x6000; g <= 0x601e; g += 2) bitmap[g] = 1;
  groupBitmap = bitmap;
  return bitmap;
}

const KNOWN_VRS_AND_PSEUDO: ReadonlySet<string> = new Set([...KNOWN_VRS, "ox", "xs", "lt", "up", "na"]);

interface Header {
  readonly tag: Tag;
  readonly size: number;
  readonly length: number;
}

/** The VRs a dictionary entry allows (dcmjs's pseudo VRs stand for several). */
function dictionaryAllows(dictVr: string, vr: string): boolean {
  if (vr === dictVr || vr === "UN") return true;
  switch (dictVr) {
    case "ox":
      return vr === "OB" || vr === "OW";
    case "xs":
      return vr === "US" || vr === "SS";
    case "lt":
      return vr === "US" || vr === "SS" || vr === "OW";
    case "up":
      return vr === "UL";
    default:
      return false;
  }
}

/**
 * A header of a real element: a standard tag the dictionary knows (with its VR, in explicit VR), or a
 * private creator (gggg,0010-00FF) or private element (gggg,1000-FFFF) of an odd group.
 */
function headerAt(buf: Buffer, at: number, enc: Encoding): Header | undefined {
  const le = enc.littleEndian;
  const group = le ? buf.readUInt16LE(at) : buf.readUInt16BE(at);
  const element = le ? buf.readUInt16LE(at + 2) : buf.readUInt16BE(at + 2);
  if (group < 0x0008 || group > 0xfffc) return undefined;
  const tag = ((group << 16) | element) >>> 0;
  let dictVr: string | undefined;
  if ((group & 1) === 1) {
    if (element < 0x0010 || (element > 0x00ff && element < 0x1000)) return undefined;
  } else {
    dictVr = lookupTag(tag)?.vr;
    if (dictVr === undefined) return undefined;
  }
  if (enc.explicitVr) {
    const vr = String.fromCharCode(buf[at + 4]!, buf[at + 5]!);
    if (!KNOWN_VRS.has(vr)) return undefined;
    if (dictVr !== undefined && !dictionaryAllows(dictVr, vr)) return undefined;
    if (LONG_LENGTH_VRS.has(vr)) {
      if (at + 12 > buf.length || buf[at + 6] !== 0 || buf[at + 7] !== 0) return undefined;
      const length = le ? buf.readUInt32LE(at + 8) : buf.readUInt32BE(at + 8);
      return { tag, size: 12, length };
    }
    return { tag, size: 8, length: le ? buf.readUInt16LE(at + 6) : buf.readUInt16BE(at + 6) };
  }
  // Implicit VR: no VR bytes to check, so the length must be sane.
  const length = le ? buf.readUInt32LE(at + 4) : buf.readUInt32BE(at + 4);
  if (length !== 0xffffffff && length > buf.length - at - 8 + 0x10000) return undefined;
  return { tag, size: 8, length };
}
