/**
 * The identifier model, written once and used by the cleaner (apply.ts: Clean Descriptors and the
 * sweep of kept text) and by the verifier (verify.ts).
 *
 * PS3.15 Table E.1-1 removes two kinds of attributes. Some carry values that identify a person, a
 * place or a device by themselves: names, IDs and their issuers, dates, addresses and contacts,
 * device serial numbers and IDs, institution / department / station, instance UIDs, URLs and network
 * addresses (HIPAA Safe Harbor A-R, ../shared/reference/hipaa-safe-harbor.md). Others are removed only
 * because they *might* contain such a value: descriptions, comments, protocol names, private
 * elements. Only the first kind are needles: their original values must not survive anywhere in the
 * text the output carries over. The second kind recur legitimately (a series description inside the
 * protocol name; a Siemens sequence name in a private element and in Sequence Name).
 *
 * Where needles are searched: text values (LO, LT, SH, ST, UT, UC, PN) and UN. Not coded vocabulary
 * (CS, Code Value, Coding Scheme, Code Meaning), numbers (IS, DS, binary VRs) or generated values: a
 * Patient ID 123456 equal to a Series Number, or a Timezone Offset -0400 inside code T-04000, is a
 * coincidence, not a leak. Instance UIDs are searched in every string value (they are unique by
 * construction; one that is kept unmapped anywhere is a real leak).
 */
import { lookupTag, tagOfKeyword } from "../dicom/dictionary.js";
import type { DataElement } from "../dicom/element.js";
import { isPrivateCreator, type Tag } from "../dicom/tag.js";

/** Attributes (by keyword) whose values identify, beyond every PN, DA, DT and instance UID. */
const IDENTIFYING_KEYWORDS = new Set([
  // IDs and their issuers (HIPAA G-K, R)
  "PatientID",
  "OtherPatientIDs",
  "IssuerOfPatientID",
  "AccessionNumber",
  "StudyID",
  "AdmissionID",
  "IssuerOfAdmissionID",
  "ServiceEpisodeID",
  "IssuerOfServiceEpisodeID",
  "InsurancePlanIdentification",
  "MedicalRecordLocator",
  "PerformedProcedureStepID",
  "RequestedProcedureID",
  "ScheduledProcedureStepID",
  "FillerOrderNumberImagingServiceRequest",
  "PlacerOrderNumberImagingServiceRequest",
  "InterpretationID",
  "InterpretationIDIssuer",
  "ResultsID",
  "ResultsIDIssuer",
  "StudyIDIssuer",
  "ClinicalTrialSubjectID",
  "ClinicalTrialSubjectReadingID",
  "ClinicalTrialSiteID",
  "ClinicalTrialSiteName",
  "ClinicalTrialCoordinatingCenterName",
  "ClinicalTrialProtocolEthicsCommitteeApprovalNumber",
  "IssuerOfClinicalTrialSubjectID",
  "IssuerOfClinicalTrialSubjectReadingID",
  "IssuerOfClinicalTrialSiteID",
  "SpecimenAccessionNumber",
  "SpecimenIdentifier",
  "ContainerIdentifier",
  "SlideIdentifier",
  "MilitaryRank",
  // devices (HIPAA L, M)
  "DeviceSerialNumber",
  "DeviceAlternateIdentifier",
  "DetectorID",
  "XRayDetectorID",
  "XRaySourceID",
  "GantryID",
  "GeneratorID",
  "CassetteID",
  "PlateID",
  "HardcopyCreationDeviceID",
  "SecondaryCaptureDeviceID",
  "ModifyingDeviceID",
  "SourceSerialNumber",
  "LensSerialNumber",
  "UniqueDeviceIdentifier",
  "ManufacturerDeviceIdentifier",
  "CameraOwnerName",
  // institution, department, station, locations (HIPAA B)
  "InstitutionName",
  "InstitutionAddress",
  "InstitutionalDepartmentName",
  "HumanPerformerOrganization",
  "ResponsibleOrganization",
  "VerifyingOrganization",
  "PatientInstitutionResidence",
  "ScheduledPatientInstitutionResidence",
  "StationName",
  "PerformedStationName",
  "ScheduledStationName",
  "TreatmentMachineName",
  "PerformedLocation",
  "ScheduledProcedureStepLocation",
  "ScheduledStudyLocation",
  "RequestedProcedureLocation",
  "CurrentPatientLocation",
  "OrderEntererLocation",
  "RegionOfResidence",
  // addresses and contacts (HIPAA B, D-F)
  "PatientAddress",
  "PersonAddress",
  "ReferringPhysicianAddress",
  "DistributionAddress",
  "AddressTrial",
  "PatientTelephoneNumbers",
  "PersonTelephoneNumbers",
  "ReferringPhysicianTelephoneNumbers",
  "OrderCallbackPhoneNumber",
  "TelephoneNumberTrial",
  "PatientTelecomInformation",
  "PersonTelecomInformation",
  "OrderCallbackTelecomInformation",
  // network addresses (HIPAA N, O)
  "NetworkID",
]);

const IDENTIFYING_TAGS: ReadonlySet<Tag> = new Set(
  [...IDENTIFYING_KEYWORDS].map((k) => tagOfKeyword(k)).filter((t): t is Tag => t !== undefined),
);

/** UIDs of instances and their parts (Table E.1-1 "U"), which the profiles remap. */
const NOT_INSTANCE_UIDS = new Set([
  0x00020002, 0x00020010, 0x00020012, 0x00080016, 0x00081150, 0x0008001a, 0x00080062, 0x00081090,
]);

/** True when an original value of this attribute identifies by itself (a needle). */
export function isIdentifying(tag: Tag, vr: string): boolean {
  if (vr === "PN" || vr === "UR" || vr === "AE") return true;
  if (vr === "DA" || vr === "DT") return true;
  if (vr === "UI") return !NOT_INSTANCE_UIDS.has(tag) && !lookupTag(tag)?.keyword?.endsWith("ClassUID");
  return IDENTIFYING_TAGS.has(tag);
}

/** Coded vocabulary: values here are not searched for names and IDs (only for instance UIDs). */
export const CODE_TAGS: ReadonlySet<Tag> = new Set([
  0x00080100, // Code Value
  0x00080102, // Coding Scheme Designator
  0x00080103, // Coding Scheme Version
  0x00080104, // Code Meaning
  0x00080119, // Long Code Value
  0x00080120, // URN Code Value
  0x0008010f, // Context Identifier
  0x00080105, // Mapping Resource
  0x00080117, // Context UID
]);

/** Text VRs searched for identifying values. */
export const SEARCHED_TEXT_VRS: ReadonlySet<string> = new Set([
  "LO",
  "LT",
  "PN",
  "SH",
  "ST",
  "UC",
  "UT",
  "UN",
]);

/** Is this carried-over element searched for this needle? */
export function searchedFor(tag: Tag, vr: string, needle: Needle): boolean {
  if (needle.uid) return vr !== "SQ" && !isPrivateCreator(tag);
  return SEARCHED_TEXT_VRS.has(vr) && !CODE_TAGS.has(tag);
}

export interface Needle {
  /** latin1 view of the original bytes (byte-exact, independent of the character set). */
  readonly text: string;
  readonly tag: Tag;
  readonly uid: boolean;
}

const MIN_NEEDLE = 4;
/** Values that stand for "no value" in real files; they identify nobody. */
const PLACEHOLDER =
  /^(n\.?\/?a\.?|none|null|nil|unknown|unk|anonymous|anonymi[sz]ed|anon|not available|unnamed|no name|removed|deleted|empty|default|test|[-_.*?0 ]+|x+)$/i;
/** Decimal numbers (measurements, versions) are not identifiers. */
const DECIMAL = /^[+-]?\d*\.\d+([eE][+-]?\d+)?$/;

/** The needles of one original value (an element the plan changed or removed). */
export function needlesOf(tag: Tag, vr: string, value: Uint8Array): Needle[] {
  if (!isIdentifying(tag, vr)) return [];
  const raw = Buffer.from(value.buffer, value.byteOffset, value.length).toString("latin1");
  const values = vr === "LT" || vr === "ST" || vr === "UT" ? [raw] : raw.split("\\");
  const out: Needle[] = [];
  const add = (text: string) => {
    const t = text.replace(/^[ ]+|[ \0]+$/g, "");
    if (t.length < MIN_NEEDLE || PLACEHOLDER.test(t) || (vr !== "UI" && DECIMAL.test(t))) return;
    if (!out.some((n) => n.text === t)) out.push({ text: t, tag, uid: vr === "UI" });
  };
  for (const v of values) {
    // A date identifies with its month and day; a year alone (HIPAA keeps it) does not.
    if ((vr === "DA" || vr === "DT") && !/^\d{4}[.]?\d{2}[.]?\d{2}/.test(v.trim())) continue;
    add(v);
    if (vr === "PN") {
      const trimmed = v.replace(/[\s^=\0]+$/, "");
      add(trimmed);
      for (const part of trimmed.split(/[\^=]+/)) add(part);
    } else if (vr === "DT") {
      add(v.trim().slice(0, 8)); // the date of a date-time
    }
  }
  return out;
}

/** Vocabulary attributes: a value that names a product or a body part is not a person's identifier. */
const VOCABULARY_TAGS = [
  0x00080060, // Modality
  0x00080070, // Manufacturer
  0x00081090, // Manufacturer's Model Name
  0x00181020, // Software Versions
  0x00180015, // Body Part Examined
];

/** The vocabulary values of a dataset (top level), upper-cased latin1. */
export function vocabularyOf(dataset: readonly DataElement[]): string[] {
  const out: string[] = [];
  for (const e of dataset) {
    if (!VOCABULARY_TAGS.includes(e.tag) || !e.value) continue;
    const text = Buffer.from(e.value.buffer, e.value.byteOffset, e.value.length).toString("latin1");
    for (const v of text.split("\\")) if (v.trim()) out.push(v.trim().toUpperCase());
  }
  return out;
}

/** A needle that equals, or is a word of, a product or body part name identifies nobody. */
export function isVocabulary(needle: Needle, vocabulary: readonly string[]): boolean {
  if (needle.uid) return false;
  const upper = needle.text.toUpperCase();
  return vocabulary.some((v) => v === upper || occurs(v, upper));
}

/**
 * Does `needle` occur in `haystack` as a whole token? Not inside a longer word or number: SMITH is not
 * found in SMITHSON, -0400 not in T-04000, a UID not inside a longer UID. Case-insensitive for text.
 */
export function occurs(haystack: string, needle: string): boolean {
  return tokenRegExp(needle).test(haystack);
}

const regexCache = new Map<string, RegExp>();

export function tokenRegExp(needle: string, flags = "i"): RegExp {
  const key = `${flags}\u0000${needle}`;
  let re = regexCache.get(key);
  if (!re) {
    const escaped = needle.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
    const numeric = /^[\d.]+$/.test(needle);
    const edge = numeric ? "[\\d.]" : "[\\p{L}\\p{N}]";
    re = new RegExp(`(?<!${edge})${escaped}(?!${edge})`, `${flags}u`);
    if (regexCache.size >= 4096) regexCache.clear();
    regexCache.set(key, re);
  }
  return re;
}

/** A carried-over string value: its tag, VR, path and latin1 text. */
export interface Carried {
  readonly tag: number;
  readonly vr: string;
  readonly path: string;
  readonly text: string;
}

/** The needles of the changed originals, less those that name a product or body part. */
export function identifyingNeedles(
  originals: ReadonlyArray<{ readonly tag: Tag; readonly vr: string; readonly value: Uint8Array }>,
  vocabulary: readonly string[],
): Needle[] {
  const seen = new Set<string>();
  const out: Needle[] = [];
  for (const o of originals) {
    for (const n of needlesOf(o.tag, o.vr, o.value)) {
      const key = `${n.uid ? "u" : "t"}${n.text}`;
      if (seen.has(key) || isVocabulary(n, vocabulary)) continue;
      seen.add(key);
      out.push(n);
    }
  }
  return out;
}

/**
 * A set of needles compiled into one matcher per class (one regex test per value, whatever the number
 * of needles: an enhanced multi-frame instance has thousands of UIDs). Shared by the sweep and the
 * verifier, so that both use the same token semantics.
 */
export interface NeedleMatcher {
  /** The needles found in this value of this element (empty: none). */
  hits(tag: Tag, vr: string, text: string): Needle[];
}

function alternation(needles: readonly Needle[], numeric: boolean): RegExp | undefined {
  if (needles.length === 0) return undefined;
  const body = [...new Set(needles.map((n) => n.text))]
    .sort((a, b) => b.length - a.length || (a < b ? -1 : 1))
    .map((t) => t.replace(/[.*+?^${}()|[\]\\]/g, "\\$&"))
    .join("|");
  const edge = numeric ? "[\\d.]" : "[\\p{L}\\p{N}]";
  return new RegExp(`(?<!${edge})(?:${body})(?!${edge})`, "iu");
}

export function compileNeedles(needles: readonly Needle[]): NeedleMatcher {
  const isNumeric = (n: Needle) => /^[\d.]+$/.test(n.text);
  const uids = needles.filter((n) => n.uid);
  const textNumeric = needles.filter((n) => !n.uid && isNumeric(n));
  const textOther = needles.filter((n) => !n.uid && !isNumeric(n));
  const uidRe = alternation(uids, true);
  const numRe = alternation(textNumeric, true);
  const otherRe = alternation(textOther, false);
  const pick = (list: readonly Needle[], text: string) => list.filter((n) => occurs(text, n.text));
  return {
    hits(tag, vr, text) {
      const out: Needle[] = [];
      if (uidRe && searchedFor(tag, vr, UID_PROBE) && uidRe.test(text)) out.push(...pick(uids, text));
      if (searchedFor(tag, vr, TEXT_PROBE)) {
        if (numRe && numRe.test(text)) out.push(...pick(textNumeric, text));
        if (otherRe && otherRe.test(text)) out.push(...pick(textOther, text));
      }
      return out;
    },
  };
}

/** The first carried value that holds a needle, if any. */
export function findSurvivor(
  carried: readonly Carried[],
  needles: readonly Needle[],
): { needle: Needle; path: string } | undefined {
  if (needles.length === 0) return undefined;
  const matcher = compileNeedles(needles);
  for (const c of carried) {
    const hit = matcher.hits(c.tag, c.vr, c.text)[0];
    if (hit) return { needle: hit, path: c.path };
  }
  return undefined;
}

const TEXT_PROBE: Needle = { text: "", tag: 0, uid: false };
const UID_PROBE: Needle = { text: "", tag: 0, uid: true };

/** SR concepts whose coded value names an institution, a person or a place (issue: SR coded content). */
export const IDENTIFYING_CONCEPT =
  /\b(institution|hospital|organi[sz]ation|facility|department|physician|observer name|person name|person|operator|address|telephone|e-?mail|location of)\b/i;
