/** The profile file format (profiles/*.json): the closed vocabularies are declared here, once. */
import type { PixelTemplate } from "../pixel/config.js";

/** Every action a rule can name. Their semantics live in src/engine/actions.ts. */
export const ACTION_NAMES = [
  "keep",
  "remove",
  "empty",
  "dummy",
  "replace",
  "remapUid",
  "cleanText",
  "yearOnly",
  "zeroTime",
  "capAge",
  "pseudonym",
  "shiftDate",
] as const;
export type ActionName = (typeof ACTION_NAMES)[number];
/**
 * What an audit entry can say: a profile's action, a reader's repair, or a box the Clean Pixel Data
 * step filled (no profile rule can name the last two).
 */
export type AuditActionName = ActionName | "repair" | "cleanPixel";

/** The ten PS3.15 Annex E options, as named in ps3.15-table-e1-1.json; each with its CID 7050 code. */
export const OPTION_CODES = {
  retainSafePrivate: ["113111", "Retain Safe Private Option"],
  retainUIDs: ["113110", "Retain UIDs Option"],
  retainDeviceIdentity: ["113109", "Retain Device Identity Option"],
  retainInstitutionIdentity: ["113112", "Retain Institution Identity Option"],
  retainPatientCharacteristics: ["113108", "Retain Patient Characteristics Option"],
  retainLongitudinalFullDates: ["113106", "Retain Longitudinal Temporal Information Full Dates Option"],
  retainLongitudinalModifiedDates: [
    "113107",
    "Retain Longitudinal Temporal Information Modified Dates Option",
  ],
  cleanDescriptors: ["113105", "Clean Descriptors Option"],
  cleanStructuredContent: ["113104", "Clean Structured Content Option"],
  cleanGraphics: ["113103", "Clean Graphics Option"],
} as const satisfies Record<string, readonly [string, string]>;
export type OptionName = keyof typeof OPTION_CODES;
export const OPTION_NAMES = Object.keys(OPTION_CODES) as OptionName[];

/** What a rule does, with the parameters some actions take. */
export interface RuleAction {
  readonly action: ActionName;
  /** replace: the new value. */
  readonly value?: string;
  /** capAge: ages above this many years become this many years (default 89). */
  readonly maxYears?: number;
  /** pseudonym: text in front of the keyed hash; and the value used when the element is empty. */
  readonly prefix?: string;
  readonly fallback?: string;
  /** shiftDate: dates move back by 1..maxDays days, the same for every date of one patient. */
  readonly maxDays?: number;
  /** replace / pseudonym: the new value comes from one of the profile's lookup tables. */
  readonly lookup?: RuleLookup;
}

/** What a rule does when the key is not in its lookup table. */
export const LOOKUP_ON_MISSING = ["fail", "pseudonym", "keep-rule-default"] as const;
export type LookupOnMissing = (typeof LOOKUP_ON_MISSING)[number];

/** A rule's `lookup`: which table, which attribute's original value is the key, and what a miss does. */
export interface RuleLookup {
  readonly table: string;
  /** Keyword of the top-level attribute whose original value is the key; default: the element itself. */
  readonly key?: string;
  /** Default "fail": the instance fails (reason: tag and table name, never the key). */
  readonly onMissing?: LookupOnMissing;
}

/**
 * A profile's lookup table (original value -> new value, as RSNA CTP's lookup tables): on disk a CSV
 * `file` relative to the profile's directory; in a profile sent with a request only inline `rows`.
 * After validation every table has its `rows` (the file read and checked) and no `file`.
 */
export interface LookupTableSpec {
  readonly file?: string;
  readonly rows?: ReadonlyArray<readonly [string, string]>;
}

/** One rule of a profile file: a selector plus an action, and what each option changes it to. */
export interface ProfileRule extends RuleAction {
  readonly tag?: string;
  readonly keyword?: string;
  /**
   * Every dictionary attribute of these VRs (and any unknown attribute read with one of them), as if
   * the layer listed each by tag; the layer's own tag rules win over it.
   */
  readonly vr?: readonly string[];
  /** `(60xx,3000)`, `(50xx,xxxx)`: hex digits or x wildcards. */
  readonly pattern?: string;
  /** A private block: creator string, optional group (`0029`) and element in block (`10`, `xx10`). */
  readonly privateCreator?: string;
  readonly group?: string;
  readonly element?: string;
  readonly options?: Partial<Record<OptionName, ActionName | RuleAction>>;
  readonly note?: string;
}

export interface ProfileFile {
  readonly name: string;
  readonly description: string;
  readonly version: string;
  readonly extends?: string;
  readonly options?: readonly OptionName[];
  readonly defaults?: {
    readonly private?: ActionName;
    /** Public attributes the dictionary knows that no rule lists. */
    readonly unlisted?: ActionName;
    /** Public elements the dictionary does not know (default remove; keep is unsafe). */
    readonly unknown?: ActionName;
  };
  /** CID 7050 codes this profile claims beyond its options (e.g. 113100 Basic Application Confidentiality Profile). */
  readonly methodCodes?: ReadonlyArray<{ readonly code: string; readonly meaning: string }>;
  /** The PS3.15 edition the profile was generated from, stamped into DeidentificationMethod. */
  readonly edition?: string;
  /**
   * What to do with an instance whose Burned In Annotation (0028,0301) is YES. Header rules cannot
   * clean text in pixels, so the default is to reject it (fail closed); "allow" is for data known to be clean.
   */
  readonly burnedInAnnotation?: "reject" | "allow";
  /** The Clean Pixel Data step (src/pixel/config.ts); a child profile's fields win, templates add up. */
  readonly pixel?: ProfilePixelBlock;
  /** Lookup tables the rules of this profile name in their `lookup`. */
  readonly lookupTables?: Readonly<Record<string, LookupTableSpec>>;
  readonly rules: readonly ProfileRule[];
}

/** A profile's `pixel` block: every field optional; defaults in src/engine/plan.ts. */
export interface ProfilePixelBlock {
  readonly detector?: boolean;
  readonly recheck?: "boxes" | "frame";
  readonly padding?: number;
  readonly scope?: {
    readonly modalities?: readonly string[];
    readonly sopClasses?: readonly string[];
    readonly burnedInAnnotationYes?: boolean;
  };
  readonly unmatched?: "reject" | "pass";
  readonly templates?: readonly PixelTemplate[];
  /** Lossy JPEG without a DCT-domain edit: transcode to JPEG Lossless SV1 or refuse (default). */
  readonly lossy?: "transcode" | "refuse";
}
