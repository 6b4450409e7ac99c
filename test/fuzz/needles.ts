/**
 * A swallow-proof leak check. The needles (the patient's and staff's identifying values) come from
 * the PRISTINE source file, never from the mutated input: a mutation that makes a kept element
 * swallow Patient Name leaves no Patient Name in the mutated input's parse, so a check that reads
 * its needles from the input finds nothing to look for. Each needle is then searched in the output's
 * raw bytes (everything but the Pixel Data value, inflated when deflated) and in its text values as
 * dcmjs decodes them. Any needle of the original anywhere in the output is a leak.
 *
 * Independent of the engine: the element walker is test/fuzz/layout.ts and the decoder is dcmjs.
 * Results name the keyword and where it was found, never the value.
 */
import dcmjs from "dcmjs";
import { readWithDcmjs, type RawDict } from "../helpers/dicom.js";
import { layoutOf, PIXEL_DATA, tagText, type Layout } from "./layout.js";

export interface Needle {
  readonly keyword: string;
  /** The value as encoded in the source file (latin1 view of its bytes). */
  readonly raw: string;
  /** Only digits, dots and dashes: matched only where no digit or dot touches it. */
  readonly numeric: boolean;
  /** Found in decoded (dcmjs) text rather than raw bytes. */
  readonly decoded?: boolean;
}

export interface Hit {
  readonly keyword: string;
  readonly where: "raw" | "decoded";
  readonly length: number;
  /** The needle itself (for the test's bookkeeping; never printed). */
  readonly needle: Needle;
}

/** Attributes whose values identify the patient, a person, an encounter, a device or the site. */
export const IDENTIFYING: Readonly<Record<number, string>> = {
  0x00080050: "AccessionNumber",
  0x00080080: "InstitutionName",
  0x00080081: "InstitutionAddress",
  0x00080090: "ReferringPhysicianName",
  0x00080092: "ReferringPhysicianAddress",
  0x00080094: "ReferringPhysicianTelephoneNumbers",
  0x00081010: "StationName",
  0x00081040: "InstitutionalDepartmentName",
  0x00081048: "PhysiciansOfRecord",
  0x00081050: "PerformingPhysicianName",
  0x00081060: "NameOfPhysiciansReadingStudy",
  0x00081070: "OperatorsName",
  0x00100010: "PatientName",
  0x00100020: "PatientID",
  0x00100021: "IssuerOfPatientID",
  0x00100030: "PatientBirthDate",
  0x00101000: "OtherPatientIDs",
  0x00101001: "OtherPatientNames",
  0x00101005: "PatientBirthName",
  0x00101040: "PatientAddress",
  0x00101060: "PatientMotherBirthName",
  0x00102154: "PatientTelephoneNumbers",
  0x00181000: "DeviceSerialNumber",
  0x00200010: "StudyID",
  0x0020000d: "StudyInstanceUID",
  0x0020000e: "SeriesInstanceUID",
  0x00080018: "SOPInstanceUID",
  0x00321032: "RequestingPhysician",
  0x00400006: "ScheduledPerformingPhysicianName",
  0x00401001: "RequestedProcedureID",
};

// dcmjs reports every oddity of a mutated file on the console (thousands of lines per run); the
// fuzz test reports what matters itself.
dcmjs.log.setLevel("silent");
dcmjs.log.getLogger("validation.dcmjs").setLevel("silent");

const UIDS = new Set([0x0020000d, 0x0020000e, 0x00080018]);

/**
 * Minimum lengths, so that a needle does not turn up by coincidence in binary values or numbers:
 * text of 4+ bytes (a name component such as "Smith"), numbers (IDs, dates) of 6+ digits bounded by
 * non-digits, UIDs of 10+ characters.
 */
export const MIN_TEXT = 4;
export const MIN_NUMERIC = 6;

/** Values the engine writes itself (PS3.15 dummies, Longitudinal Temporal Information Modified),
 * which a source may also hold by chance. */
const GENERATED = new Set([
  "ANON",
  "19000101",
  "000000",
  "ANONYMOUS",
  "ANONYMIZED",
  "REMOVED",
  "MODIFIED",
  "UNMODIFIED",
]);

function accept(keyword: string, value: string, out: Map<string, Needle>, decoded = false): void {
  const v = value.replace(/^[\s\0]+|[\s\0]+$/g, "");
  if (GENERATED.has(v.toUpperCase())) return;
  const numeric = /^[\d.-]+$/.test(v);
  if (numeric ? v.replace(/\D/g, "").length < MIN_NUMERIC : v.length < MIN_TEXT) return;
  if (keyword === "PatientBirthDate" && /^\d{4}0101$/.test(v)) return; // equals its own year-only form
  const key = `${decoded ? "d" : "r"}:${v}`;
  if (!out.has(key)) out.set(key, { keyword, raw: v, numeric, decoded });
}

/** Splits one element value into the needles it yields: each value of a multi-valued element, and
 * for person names each component group and component (family, given, middle...). */
function splitValue(keyword: string, vr: string, text: string, out: Map<string, Needle>, decoded: boolean) {
  for (const one of text.split("\\")) {
    accept(keyword, one, out, decoded);
    if (vr === "PN") {
      for (const group of one.split("=")) {
        accept(keyword, group, out, decoded);
        for (const component of group.split("^")) accept(keyword, component, out, decoded);
      }
    }
  }
}

/** The needles of a pristine source file: raw bytes found by our own walker, decoded text by dcmjs. */
export function needlesOf(pristine: Buffer): Needle[] {
  const out = new Map<string, Needle>();
  const layout = layoutOf(pristine);
  // Values of ordinary public short-text elements (Manufacturer, Body Part...): a needle found in one
  // (institution "TOSHIBA", manufacturer "TOSHIBA_MEC") would be found in any correct output.
  // Private elements and free text (LT, ST, UT) do not count: names hide there.
  const ordinary = new Set<string>();
  for (const e of layout.elements) {
    const keyword = IDENTIFYING[e.tag] ?? (e.vr === "PN" ? `PN${tagText(e.tag)}` : undefined);
    if (e.length === 0xffffffff || e.end === 0 || e.length > 4096) continue;
    if (!keyword) {
      if (ORDINARY_TEXT.has(e.vr) && (e.tag >>> 16) % 2 === 0)
        for (const v of layout.dataset
          .toString("latin1", e.valueOffset, e.valueOffset + e.length)
          .split("\\"))
          ordinary.add(v.replace(/^[\s\0]+|[\s\0]+$/g, ""));
      continue;
    }
    if (UIDS.has(e.tag) && e.depth > 0) continue; // nested instance UIDs are references, remapped alike
    const text = layout.dataset.toString("latin1", e.valueOffset, e.valueOffset + e.length);
    if (UIDS.has(e.tag)) {
      const uid = text.replace(/[\0 ]+$/, "");
      if (uid.length >= 10 && !uid.startsWith("1.2.840.10008."))
        out.set(`r:${uid}`, { keyword, raw: uid, numeric: true });
      continue;
    }
    splitValue(keyword, e.vr, text, out, false);
  }
  let dict: RawDict | undefined;
  try {
    dict = readWithDcmjs(pristine).dict;
  } catch {
    dict = undefined; // dcmjs cannot read it (ISO 2022, a bare dataset...): the raw needles stand
  }
  if (dict) {
    walkDict(dict, (tag, vr, values) => {
      const keyword = IDENTIFYING[tag] ?? (vr === "PN" ? `PN${tagText(tag)}` : undefined);
      if (!keyword || UIDS.has(tag)) return;
      for (const v of values) splitValue(keyword, vr, v, out, true);
    });
  }
  const plain = [...ordinary].filter((v) => v.length >= MIN_TEXT);
  return [...out.values()].filter((n) => !plain.some((v) => v.includes(n.raw)));
}

const ORDINARY_TEXT = new Set(["AE", "CS", "LO", "SH"]);

/** A needle planted by a mutation (a value the test itself put into the input). */
export function plantedNeedle(keyword: string, value: string): Needle {
  return { keyword, raw: value, numeric: /^[\d.-]+$/.test(value) };
}

function walkDict(dict: RawDict, visit: (tag: number, vr: string, values: string[]) => void): void {
  for (const [tagHex, element] of Object.entries(dict)) {
    if (element.vr === "SQ") {
      for (const item of (element.Value ?? []) as RawDict[]) if (item) walkDict(item, visit);
      continue;
    }
    const values = (element.Value ?? []).flatMap((v) => {
      if (typeof v === "string") return [v];
      if (v && typeof v === "object" && "Alphabetic" in v) {
        const p = v as Record<string, string | undefined>;
        return [[p.Alphabetic, p.Ideographic, p.Phonetic].filter((x) => x !== undefined).join("=")];
      }
      return [];
    });
    visit(parseInt(tagHex, 16) >>> 0, element.vr, values);
  }
}

/** The output's bytes to search: the dataset (inflated if need be) and meta, without Pixel Data's value. */
function rawHaystack(output: Buffer, layout: Layout): string {
  const pixel = layout.elements.find((e) => e.tag === PIXEL_DATA && e.depth === 0);
  const parts = [layout.prefix.toString("latin1")];
  if (pixel && pixel.end > 0) {
    parts.push(layout.dataset.toString("latin1", 0, pixel.valueOffset));
    parts.push(layout.dataset.toString("latin1", pixel.end));
  } else if (pixel) {
    parts.push(layout.dataset.toString("latin1", 0, pixel.valueOffset));
  } else parts.push(layout.dataset.toString("latin1"));
  void output;
  return parts.join("\n");
}

function decodedHaystack(output: Buffer): string | undefined {
  let dict: RawDict;
  try {
    dict = readWithDcmjs(output).dict;
  } catch {
    return undefined;
  }
  const values: string[] = [];
  walkDict(dict, (_tag, vr, v) => {
    if (!NOT_TEXT.has(vr)) values.push(...v);
  });
  return values.join("\n");
}

const NOT_TEXT = new Set([
  "OB",
  "OW",
  "OF",
  "OD",
  "OL",
  "OV",
  "FL",
  "FD",
  "SL",
  "SS",
  "UL",
  "US",
  "SV",
  "UV",
  "AT",
]);

function contains(haystack: string, needle: Needle): boolean {
  if (!needle.numeric) return haystack.includes(needle.raw);
  let from = 0;
  for (;;) {
    const at = haystack.indexOf(needle.raw, from);
    if (at < 0) return false;
    const before = haystack.charCodeAt(at - 1);
    const after = haystack.charCodeAt(at + needle.raw.length);
    const touches = (c: number) => (c >= 0x30 && c <= 0x39) || c === 0x2e;
    if (!touches(before) && !touches(after)) return true;
    from = at + 1;
  }
}

/** The needles found in `output` (empty when nothing leaked). Never includes values. */
export function findNeedles(output: Buffer, needles: readonly Needle[]): Hit[] {
  if (needles.length === 0) return [];
  const raw = rawHaystack(output, layoutOf(output));
  const decoded = needles.some((n) => n.decoded) ? decodedHaystack(output) : undefined;
  const hits: Hit[] = [];
  for (const n of needles) {
    if (n.decoded) {
      if (decoded !== undefined && contains(decoded, n))
        hits.push({ keyword: n.keyword, where: "decoded", length: n.raw.length, needle: n });
    } else if (contains(raw, n))
      hits.push({ keyword: n.keyword, where: "raw", length: n.raw.length, needle: n });
  }
  return hits;
}

/** Whether any needle occurs in some text (failure reasons, logs): only letter-bearing needles of 5+
 * characters, since numbers in reasons and logs (offsets, counts, durations) match short digits. */
export function textLeaks(text: string, needles: readonly Needle[]): string[] {
  return needles
    .filter((n) => !n.numeric && n.raw.length >= 5 && /[A-Za-z]/.test(n.raw) && text.includes(n.raw))
    .map((n) => n.keyword);
}

export function keywordOf(tag: number): string {
  const hex = tag.toString(16).toUpperCase().padStart(8, "0");
  const entry = dcmjs.data.DicomMetaDictionary.dictionary[`(${hex.slice(0, 4)},${hex.slice(4)})`] as
    { name?: string } | undefined;
  return entry?.name ?? tagText(tag);
}
