/**
 * The action table: one small pure function per action name (see src/profiles/types.ts), turning
 * an element's value into its de-identified value. Walking the dataset is elsewhere (apply.ts).
 * A function that cannot do its job for a value throws DeidentificationError: the instance fails.
 */
import { decodeText, encodeText, type Charset } from "../dicom/charset.js";
import { asciiValue, encodeValue } from "../dicom/values.js";
import { BINARY_WIDTH, CHARSET_VRS, SINGLE_VALUE_TEXT_VRS, STRING_VRS } from "../dicom/vr.js";
import { DeidentificationError } from "../errors.js";
import type { ActionName, RuleAction } from "../profiles/types.js";
import { cleanText } from "./clean-text.js";
import type { UidMapper } from "./uid-map.js";

/** The action does not fit the VR the value is encoded with (apply empties the value instead). */
export class ActionDoesNotFitVr extends DeidentificationError {}

export interface ValueContext {
  readonly vr: string;
  readonly where: string;
  readonly charset: Charset;
  readonly uids: UidMapper;
  /** The instance's identifying values as one matcher, computed on first use. */
  readonly identifiers: () => RegExp | undefined;
  /** Days to move dates back for this patient (Retain Longitudinal with Modified Dates). */
  readonly dateShiftDays: (maxDays: number) => number;
}

export type Outcome =
  | { readonly kind: "keep" }
  | { readonly kind: "remove" }
  | { readonly kind: "set"; readonly value: Uint8Array };

const KEEP: Outcome = { kind: "keep" };
const REMOVE: Outcome = { kind: "remove" };
const EMPTY: Outcome = { kind: "set", value: new Uint8Array(0) };

type ActionFn = (value: Uint8Array, rule: RuleAction, ctx: ValueContext) => Outcome;

/** Dummy values that fit each VR (PS3.15 "D"): carry no information, keep the element valid. */
const DUMMY_TEXT: Record<string, string> = {
  AE: "ANON",
  AS: "000Y",
  CS: "ANON",
  DA: "19000101",
  DS: "0",
  DT: "19000101000000",
  IS: "0",
  LO: "ANON",
  LT: "ANON",
  PN: "ANON",
  SH: "ANON",
  ST: "ANON",
  TM: "000000",
  UC: "ANON",
  UR: "ANON",
  UT: "ANON",
};

const BULK_DUMMY_BYTES: Record<string, number> = { OD: 8, OF: 4, OL: 4, OV: 8 };

function text(value: Uint8Array, ctx: ValueContext): string {
  if (CHARSET_VRS.has(ctx.vr)) {
    let end = value.length;
    while (end > 0 && (value[end - 1] === 0x20 || value[end - 1] === 0)) end--;
    return decodeText(value.subarray(0, end), ctx.charset);
  }
  return asciiValue(value);
}

function values(value: Uint8Array, ctx: ValueContext): string[] {
  const t = text(value, ctx);
  return SINGLE_VALUE_TEXT_VRS.has(ctx.vr) ? [t] : t.split("\\");
}

function set(textValue: string, ctx: ValueContext): Outcome {
  const bytes = encodeText(textValue, ctx.charset);
  if (bytes === undefined) return EMPTY; // cannot be written in the declared character set: empty it
  return { kind: "set", value: encodeValue(bytes.toString("latin1"), ctx.vr, "latin1") };
}

function requireVr(ctx: ValueContext, allowed: readonly string[], action: ActionName): void {
  if (!allowed.includes(ctx.vr) && ctx.vr !== "UN") {
    throw new ActionDoesNotFitVr(`${action} cannot apply to ${ctx.where} with VR ${ctx.vr}`);
  }
}

function remapUids(value: Uint8Array, ctx: ValueContext): Outcome {
  const mapped = asciiValue(value)
    .split("\\")
    .map((uid) => ctx.uids.remap(uid.trim()))
    .join("\\");
  return { kind: "set", value: encodeValue(mapped, "UI") };
}

function dummy(value: Uint8Array, _rule: RuleAction, ctx: ValueContext): Outcome {
  if (ctx.vr === "UI") return remapUids(value, ctx);
  const textDummy = DUMMY_TEXT[ctx.vr];
  if (textDummy !== undefined) return set(textDummy, ctx);
  const width = BINARY_WIDTH[ctx.vr];
  if (width !== undefined) return { kind: "set", value: new Uint8Array(width) };
  // OB, OW, UN and the other bulk VRs: the smallest non-zero value (PS3.15 D is non-zero length).
  return { kind: "set", value: new Uint8Array(BULK_DUMMY_BYTES[ctx.vr] ?? 2) };
}

const DA_GRAMMAR = /^(\d{4})[.]?(?:0[1-9]|1[0-2])[.]?(?:0[1-9]|[12]\d|3[01])$/;
const DT_GRAMMAR = /^(\d{4})(?:\d{2}){0,6}(?:\.\d{1,6})?(?:[+-]\d{4})?$/;

function parseDate(v: string): Date | undefined {
  const m = /^(\d{4})(\d{2})(\d{2})/.exec(v);
  if (!m) return undefined;
  const d = new Date(Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3])));
  return Number.isNaN(d.getTime()) ? undefined : d;
}

function formatDate(d: Date): string {
  return `${String(d.getUTCFullYear()).padStart(4, "0")}${String(d.getUTCMonth() + 1).padStart(2, "0")}${String(d.getUTCDate()).padStart(2, "0")}`;
}

const ACTIONS: Record<ActionName, ActionFn> = {
  keep: () => KEEP,
  remove: () => REMOVE,
  empty: () => EMPTY,
  dummy,
  replace: (_value, rule, ctx) => {
    if (!STRING_VRS.has(ctx.vr) && ctx.vr !== "UN")
      throw new ActionDoesNotFitVr(`replace cannot apply to ${ctx.where} with VR ${ctx.vr}`);
    return set(rule.value ?? "", ctx);
  },
  remapUid: (value, _rule, ctx) => {
    requireVr(ctx, ["UI"], "remapUid");
    return remapUids(value, ctx);
  },
  cleanText: (value, rule, ctx) => {
    if (!STRING_VRS.has(ctx.vr))
      throw new ActionDoesNotFitVr(`cleanText cannot apply to ${ctx.where} with VR ${ctx.vr}`);
    const cleaned = values(value, ctx).map((v) => cleanText(v, ctx.identifiers()));
    // Nothing left of a value that had something: a dummy keeps a Type 1 element valid.
    if (cleaned.every((v) => v === "") && text(value, ctx).trim() !== "") return dummy(value, rule, ctx);
    return set(cleaned.join("\\"), ctx);
  },
  // HIPAA Safe Harbor keeps the year of a date and nothing else.
  yearOnly: (value, _rule, ctx) => {
    requireVr(ctx, ["DA", "DT"], "yearOnly");
    // Only a value that is a date gives its year: anything else ("481012cf-...") is emptied.
    const grammar = ctx.vr === "DA" ? DA_GRAMMAR : DT_GRAMMAR;
    const out = values(value, ctx).map((v) => {
      const year = grammar.exec(v.trim())?.[1];
      return year ? `${year}0101` : "";
    });
    return set(out.join("\\"), ctx);
  },
  zeroTime: (value, _rule, ctx) => {
    requireVr(ctx, ["TM", "DT"], "zeroTime");
    const out = values(value, ctx).map((v) => {
      if (v.trim() === "") return "";
      if (ctx.vr === "TM") return "000000";
      const date = /^(\d{8})/.exec(v.trim())?.[1];
      return date ? `${date}000000` : "";
    });
    return set(out.join("\\"), ctx);
  },
  // Ages above maxYears (default 89) are merged into one category, written as maxYears (e.g. 089Y).
  capAge: (value, rule, ctx) => {
    requireVr(ctx, ["AS"], "capAge");
    const max = rule.maxYears ?? 89;
    const age = asciiValue(value);
    if (age === "") return KEEP;
    const m = /^(\d{1,3})\s*([DWMY])$/i.exec(age);
    if (!m) return EMPTY; // an age we cannot read could be any age: drop it
    const years = m[2]!.toUpperCase() === "Y" ? Number(m[1]) : 0;
    if (years <= max) return KEEP;
    return set(`${String(max).padStart(3, "0")}Y`, ctx);
  },
  pseudonym: (value, rule, ctx) => {
    const original = values(value, ctx).join("\\").trim();
    if (original === "") return set(rule.fallback ?? "ANON", ctx);
    const hash = ctx.uids.keyedHash("pseudonym", original).toString("hex").slice(0, 12).toUpperCase();
    return set(`${rule.prefix ?? ""}${hash}`, ctx);
  },
  shiftDate: (value, rule, ctx) => {
    requireVr(ctx, ["DA", "DT", "TM"], "shiftDate");
    if (ctx.vr === "TM") return KEEP; // a time of day alone does not date anything
    const days = ctx.dateShiftDays(rule.maxDays ?? 365);
    const out = values(value, ctx).map((v) => {
      const date = parseDate(v.trim());
      if (!date) return "";
      date.setUTCDate(date.getUTCDate() - days);
      return formatDate(date) + (ctx.vr === "DT" ? v.trim().slice(8) : "");
    });
    return set(out.join("\\"), ctx);
  },
};

export function applyAction(value: Uint8Array, rule: RuleAction, ctx: ValueContext): Outcome {
  return ACTIONS[rule.action](value, rule, ctx);
}

/** Decoded text for the audit (binary values are described, not dumped). */
export function describeValue(value: Uint8Array | undefined, vr: string, charset: Charset): string {
  if (!value) return "";
  if (STRING_VRS.has(vr)) {
    return CHARSET_VRS.has(vr) ? decodeText(value, charset).replace(/[\s\0]+$/, "") : asciiValue(value);
  }
  return `<${value.length} bytes>`;
}
