/**
 * An independent leak check: collects the identifying values of an input at every depth with dcmjs
 * (or, where dcmjs cannot read the file, with dcmtk's dcmdump) and looks for each in the output's
 * text values, decoded by dcmjs and as raw bytes. It shares no code with the engine.
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import dcmjs from "dcmjs";
import { expect } from "vitest";
import type { DataElement } from "../../src/dicom/element.js";
import { readPart10 } from "../../src/dicom/part10.js";
import { readWithDcmjs, type RawDict } from "./dicom.js";
import { hasTool, run } from "./tools.js";

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "leak-check-"));
process.on("exit", () => fs.rmSync(tmp, { recursive: true, force: true }));

export interface Found {
  keyword: string;
  value: string;
}

/** The identifying values of `input` that appear in `output` (empty when nothing leaked). */
export function findLeaks(input: Buffer, output: Buffer): Found[] {
  const inputDict = dcmjsParse(input);
  const dcmjsReads = inputDict !== undefined;
  const inputValues = inputDict ? identifyingValues(inputDict) : identifyingValuesViaDcmdump(input);
  const out = dcmjsReads ? readWithDcmjs(output) : dcmdumpAsDict(output);
  const haystack = `${decodedTextValues(out.dict).join("\n")}\n${rawStringValues(readPart10(output).dataset).join("\n")}`;
  const products = productNames(inputDict ?? dcmdumpAsDict(input).dict);
  return inputValues.filter(({ keyword, value }) => {
    if (DATES.has(keyword) && /^\d{4}0101$/.test(value)) return false; // a year-only date equals itself
    if (PLACEHOLDER.test(value)) return false; // "Anonymous", "REMOVED", "XXXX": identify nobody
    if (products.some((p) => p.toUpperCase().includes(value.toUpperCase()))) return false; // a vendor's name
    return containsValue(haystack, value);
  });
}

/** Values that stand for "no value" (already de-identified inputs are common in public data). */
const PLACEHOLDER = /^(anonymous|anonymi[sz]ed|anon|removed|unknown|none|n\.?\/?a\.?|[xX*?\s\0.,^-]+)$/i;

/** The vendor and product names of the input: a Content Creator's Name equal to them names a product. */
function productNames(dict: RawDict): string[] {
  return ["00080070", "00081090"].flatMap((t) =>
    (dict[t]?.Value ?? []).filter((v): v is string => typeof v === "string" && v.trim().length > 0),
  );
}

const DATES = new Set(["PatientBirthDate", "StudyDate", "SeriesDate", "AcquisitionDate", "ContentDate"]);

/**
 * Not searched: coded vocabulary (a code value can equal an ID by coincidence), class UIDs (not
 * instance identifiers), and the product's own De-identification Method text.
 */
const NOT_SEARCHED = new Set([
  "00080100",
  "00080102",
  "00080104",
  "00080016",
  "00081150",
  "00020002",
  "00120063",
  "00120064",
]);

/** Keywords whose values identify a patient, a person or an encounter (HIPAA A-R), and UIDs we remap. */
const IDENTIFYING = new Set([
  "PatientName",
  "PatientID",
  "OtherPatientIDs",
  "OtherPatientNames",
  "PatientBirthName",
  "PatientMotherBirthName",
  "PatientAddress",
  "PatientTelephoneNumbers",
  "AccessionNumber",
  "InstitutionAddress",
  "DeviceSerialNumber",
  "ReferringPhysicianName",
  "PerformingPhysicianName",
  "OperatorsName",
  "NameOfPhysiciansReadingStudy",
  "PhysiciansOfRecord",
  "RequestingPhysician",
  "ScheduledPerformingPhysicianName",
  "PersonName",
  "VerifyingObserverName",
  "PatientBirthDate",
  "MilitaryRank",
  "IssuerOfPatientID",
  "StudyID",
  "StudyInstanceUID",
  "SeriesInstanceUID",
  "SOPInstanceUID",
  "FrameOfReferenceUID",
  "ReferencedSOPInstanceUID",
  "MediaStorageSOPInstanceUID",
  "RequestedProcedureID",
  "ScheduledProcedureStepID",
  "PerformedProcedureStepID",
  "InstitutionName",
  "InstitutionalDepartmentName",
  "StationName",
  "DetectorID",
  ...DATES,
]);

/** Walks a dcmjs dict at every depth, calling `visit` with the keyword and the string values. */
function walkDict(
  dict: RawDict,
  visit: (keyword: string, tag: string, vr: string, values: string[]) => void,
): void {
  for (const [tag, element] of Object.entries(dict)) {
    const keyword = lookupKeyword(tag);
    if (element.vr === "SQ") {
      for (const item of (element.Value ?? []) as RawDict[]) walkDict(item, visit);
      continue;
    }
    const values = (element.Value ?? []).flatMap((v) => {
      if (typeof v === "string") return [v];
      if (v && typeof v === "object" && "Alphabetic" in v) {
        const p = v as Record<string, string | undefined>;
        return [p.Alphabetic, p.Ideographic, p.Phonetic].filter((x): x is string => !!x);
      }
      return [];
    });
    visit(keyword, tag, element.vr, values);
  }
}

function dcmdump(buf: Buffer): { stdout: string } {
  if (!hasTool("dcmdump"))
    throw new Error("dcmdump (Debian package dcmtk) is needed to check this file independently");
  const file = path.join(tmp, `dump-${process.hrtime.bigint()}.dcm`);
  fs.writeFileSync(file, buf);
  const r = run("dcmdump", ["-q", "+L", file]);
  expect(r.status, "dcmdump could not read the file").toBe(0);
  return r;
}

function lookupKeyword(tag: string): string {
  const entry = dcmjs.data.DicomMetaDictionary.dictionary[`(${tag.slice(0, 4)},${tag.slice(4)})`] as
    { name?: string } | undefined;
  return entry?.name ?? tag;
}

function identifyingValues(dict: RawDict): Found[] {
  const found: Found[] = [];
  walkDict(dict, (keyword, _tag, vr, values) => {
    if (!IDENTIFYING.has(keyword) && vr !== "PN") return;
    for (const v of values) {
      const value = v.trim();
      if (value.length >= 4 && value !== "ANON") found.push({ keyword, value });
    }
  });
  return found;
}

/** Inputs are checked against several outputs (profiles): their parse is cached. */
const parsedInputs = new WeakMap<Buffer, RawDict | undefined>();

function dcmjsParse(buf: Buffer): RawDict | undefined {
  if (parsedInputs.has(buf)) return parsedInputs.get(buf);
  let dict: RawDict | undefined;
  try {
    dict = readWithDcmjs(buf).dict;
  } catch {
    dict = undefined;
  }
  // Pixel data holds no text; dropping it keeps the cache small.
  if (dict) delete dict["7FE00010"];
  parsedInputs.set(buf, dict);
  return dict;
}

export function dcmjsCanRead(buf: Buffer): boolean {
  try {
    readWithDcmjs(buf);
    return true;
  } catch {
    return false;
  }
}

/** A minimal tag-keyed view of a file as dcmdump prints it (top-level and nested string values). */
export function dcmdumpAsDict(buf: Buffer): { meta: RawDict; dict: RawDict } {
  const r = dcmdump(buf);
  const meta: RawDict = {};
  const dict: RawDict = {};
  r.stdout.split("\n").forEach((line, n) => {
    const m = /^(\s*)\(([0-9a-f]{4}),([0-9a-f]{4})\) (\w\w) \[(.*)\]/.exec(line);
    if (!m) return;
    const tag = `${m[2]}${m[3]}`.toUpperCase();
    const element = { vr: m[4]!, Value: m[5]!.split("\\") };
    if (tag.startsWith("0002")) meta[tag] = element;
    else dict[m[1] === "" ? tag : `${tag}@line${n}`] = element; // nested values, kept as leaves
  });
  return { meta, dict };
}

/** Identifying values as dcmtk prints them: `(0010,0010) PN [value] # len, vm PatientName`. */
function identifyingValuesViaDcmdump(input: Buffer): Found[] {
  const r = dcmdump(input);
  const found: Found[] = [];
  for (const line of r.stdout.split("\n")) {
    const m = /^\s*\([0-9a-f]{4},[0-9a-f]{4}\) (\w\w) \[(.*)\]\s+#.*\s(\w+)\s*$/.exec(line);
    if (!m || (!IDENTIFYING.has(m[3]!) && m[1] !== "PN")) continue;
    for (const v of m[2]!.split("\\"))
      if (v.trim().length >= 4 && v.trim() !== "ANON") found.push({ keyword: m[3]!, value: v.trim() });
  }
  return found;
}

/** Numbers (IS, DS) legitimately equal short numeric IDs ("0001"); they are not where names and IDs hide. */
const NOT_TEXT = new Set([
  "IS",
  "DS",
  "OB",
  "OW",
  "OF",
  "OD",
  "OL",
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

/** Every text value as dcmjs decodes it. */
function decodedTextValues(dict: RawDict): string[] {
  const out: string[] = [];
  walkDict(dict, (_keyword, tag, vr, values) => {
    if (!NOT_TEXT.has(vr) && !NOT_SEARCHED.has(tag.slice(0, 8))) out.push(...values);
  });
  return out;
}

/** Every leaf text value (including private and UN), raw bytes as latin1. */
function rawStringValues(elements: readonly DataElement[], out: string[] = []): string[] {
  for (const e of elements) {
    if (e.items) {
      if (e.tag !== 0x00120064) for (const item of e.items) rawStringValues(item.elements, out);
    } else if (
      e.value &&
      !NOT_TEXT.has(e.vr) &&
      e.value.length < 1_000_000 &&
      !NOT_SEARCHED.has(e.tag.toString(16).toUpperCase().padStart(8, "0"))
    )
      out.push(Buffer.from(e.value).toString("latin1"));
  }
  return out;
}

/** Numeric values (dates, numeric IDs, UIDs) only count when not part of a longer number. */
function containsValue(haystack: string, needle: string): boolean {
  if (!/^[\d.]+$/.test(needle)) return haystack.includes(needle);
  const escaped = needle.replace(/\./g, "\\.");
  return new RegExp(`(?<![\\d.])${escaped}(?![\\d.])`).test(haystack);
}
