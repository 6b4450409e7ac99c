/**
 * Applying a Plan: one pass over the dataset, recursing into sequence items at any depth, where the
 * same rules apply. Deciding (plan.ts) and changing values (actions.ts) live elsewhere; this file
 * walks, keeps private blocks consistent and records the audit. It never logs.
 */
import { charsetOf, decodeText, DEFAULT_CHARSET, type Charset } from "../dicom/charset.js";
import { keywordOf, lookupTag } from "../dicom/dictionary.js";
import type { DataElement, Item } from "../dicom/element.js";
import {
  elementOf,
  groupOf,
  isPrivateCreator,
  isPrivateGroup,
  PATIENT_ID,
  privateCreatorTagOf,
  SPECIFIC_CHARACTER_SET,
  tagHex,
  tagParen,
  type Tag,
} from "../dicom/tag.js";
import { asciiValue } from "../dicom/values.js";
import { CHARSET_VRS } from "../dicom/vr.js";
import { DeidentificationError } from "../errors.js";
import type { ActionName, AuditActionName } from "../profiles/types.js";
import { applyAction, describeValue, type ValueContext } from "./actions.js";
import { identifierMatcher } from "./clean-text.js";
import { privateRuleFor, publicRuleFor, type CompiledRule, type Plan } from "./plan.js";
import type { UidMapper } from "./uid-map.js";

export interface AuditEntry {
  /** Sequence items named, e.g. `00081140[0].00081155`. */
  readonly path: string;
  readonly tag: string;
  readonly keyword: string | null;
  readonly vr: string;
  readonly action: AuditActionName;
  readonly before: string;
  /** null when the element was removed. */
  readonly after: string | null;
}

/** An original value that the plan changed: the verifier makes sure it appears nowhere in the output. */
export interface ChangedOriginal {
  readonly tag: Tag;
  readonly vr: string;
  readonly value: Uint8Array;
}

export interface ApplyResult {
  readonly dataset: DataElement[];
  readonly changes: AuditEntry[];
  readonly originals: ChangedOriginal[];
  /** Paths of output elements whose value the profile generated (dummy, replace, remap...). */
  readonly generatedPaths: Set<string>;
}

/** Values of these VRs are gathered as the instance's identifiers for Clean Descriptors. */
const IDENTIFIER_VRS = new Set(["PN", "LO", "SH", "DA", "DT", "ST", "AE"]);

interface Walk {
  readonly plan: Plan;
  readonly uids: UidMapper;
  readonly changes: AuditEntry[];
  readonly originals: ChangedOriginal[];
  readonly generatedPaths: Set<string>;
  readonly identifiers: () => RegExp | undefined;
  readonly dateShiftDays: (maxDays: number) => number;
  /** Record before/after text in the audit (a batch run without an audit file only counts changes). */
  readonly auditValues: boolean;
}

export function applyPlan(
  dataset: readonly DataElement[],
  plan: Plan,
  uids: UidMapper,
  auditValues = true,
): ApplyResult {
  let matcher: RegExp | undefined | null = null;
  let patientId: string | undefined;
  const walk: Walk = {
    plan,
    uids,
    changes: [],
    originals: [],
    generatedPaths: new Set(),
    auditValues,
    identifiers: () => {
      if (matcher === null) matcher = identifierMatcher(collectIdentifiers(dataset, plan, DEFAULT_CHARSET));
      return matcher;
    },
    dateShiftDays: (maxDays) => {
      patientId ??= asciiValue(dataset.find((e) => e.tag === PATIENT_ID)?.value);
      return (uids.keyedHash("dateshift", patientId).readUInt32BE(0) % maxDays) + 1;
    },
  };
  const out = walkElements(dataset, walk, "", DEFAULT_CHARSET);
  return {
    dataset: out,
    changes: walk.changes,
    originals: walk.originals,
    generatedPaths: walk.generatedPaths,
  };
}

function charsetIn(elements: readonly DataElement[], inherited: Charset): Charset {
  const element = elements.find((e) => e.tag === SPECIFIC_CHARACTER_SET);
  return element ? charsetOf(asciiValue(element.value)) : inherited;
}

/** Private creator strings of this item, by creator tag. */
export function creatorsIn(elements: readonly DataElement[]): Map<Tag, string> {
  const creators = new Map<Tag, string>();
  for (const e of elements) if (isPrivateCreator(e.tag)) creators.set(e.tag, asciiValue(e.value));
  return creators;
}

export function ruleForElement(plan: Plan, tag: Tag, creators: Map<Tag, string>, vr?: string): CompiledRule {
  if (!isPrivateGroup(groupOf(tag))) return publicRuleFor(plan, tag, vr);
  return privateRuleFor(plan, tag, creators.get(privateCreatorTagOf(tag)));
}

function walkElements(
  elements: readonly DataElement[],
  walk: Walk,
  prefix: string,
  inherited: Charset,
): DataElement[] {
  const charset = charsetIn(elements, inherited);
  if (!charset.known) {
    throw new DeidentificationError(`unsupported Specific Character Set at ${prefix || "top level"}`);
  }
  const creators = creatorsIn(elements);
  // Decide private data elements first: a Private Creator stays only if something in its block stays.
  const rules = new Map<DataElement, CompiledRule>();
  const usedCreators = new Set<Tag>();
  for (const e of elements) {
    if (elementOf(e.tag) === 0 || isPrivateCreator(e.tag)) continue;
    const rule = ruleForElement(walk.plan, e.tag, creators, e.vr);
    rules.set(e, rule);
    if (isPrivateGroup(groupOf(e.tag)) && rule.action !== "remove")
      usedCreators.add(privateCreatorTagOf(e.tag));
  }

  const out: DataElement[] = [];
  for (const e of elements) {
    const path = prefix + tagHex(e.tag);
    // Group lengths (gggg,0000) are retired and would be wrong after any change.
    if (elementOf(e.tag) === 0) {
      record(walk, e, path, "remove", charset, null);
      continue;
    }
    if (isPrivateCreator(e.tag)) {
      if (usedCreators.has(e.tag)) out.push(e);
      else record(walk, e, path, "remove", charset, null);
      continue;
    }
    const rule = rules.get(e)!;
    const kept = applyRule(e, rule, walk, path, charset);
    if (kept) out.push(kept);
  }
  return out;
}

function applyRule(
  e: DataElement,
  rule: CompiledRule,
  walk: Walk,
  path: string,
  charset: Charset,
): DataElement | undefined {
  const where = tagParen(e.tag);
  if (e.items) {
    switch (rule.action) {
      case "remove":
        record(walk, e, path, "remove", charset, null);
        return undefined;
      case "empty":
        record(walk, e, path, "empty", charset, "<0 items>");
        return { ...e, items: [] };
      case "keep":
      case "dummy":
      case "cleanText": {
        let changed = false;
        const items = e.items.map((item, i): Item => {
          const elements = walkElements(item.elements, walk, `${path}[${i}].`, charset);
          if (elements.length === item.elements.length && elements.every((x, k) => x === item.elements[k]))
            return item;
          changed = true;
          return { ...item, elements };
        });
        return changed ? { ...e, items } : e;
      }
      default:
        throw new DeidentificationError(`${rule.action} cannot apply to the sequence ${where}`);
    }
  }
  if (e.fragments) {
    if (rule.action === "keep") return e;
    if (rule.action === "remove") {
      record(walk, e, path, "remove", charset, null);
      return undefined;
    }
    throw new DeidentificationError(`${rule.action} cannot apply to encapsulated ${where}`);
  }
  if (rule.action === "keep") {
    // A sequence we could not parse (UN with a defined length) cannot be cleaned, so it cannot be kept.
    if (e.vr === "UN" && lookupTag(e.tag)?.vr === "SQ") {
      throw new DeidentificationError(
        `the sequence ${where} is encoded as UN and could not be parsed for cleaning`,
      );
    }
    return e;
  }
  const value = e.value ?? new Uint8Array(0);
  const ctx: ValueContext = {
    vr: e.vr,
    where,
    charset,
    uids: walk.uids,
    identifiers: walk.identifiers,
    dateShiftDays: walk.dateShiftDays,
  };
  const outcome = applyAction(value, rule, ctx);
  if (outcome.kind === "keep") return e;
  if (outcome.kind === "remove") {
    record(walk, e, path, rule.action, charset, null);
    walk.originals.push({ tag: e.tag, vr: e.vr, value });
    return undefined;
  }
  if (Buffer.compare(outcome.value, value) === 0) return e;
  const next: DataElement = { tag: e.tag, vr: e.vr, value: outcome.value, undefinedLength: false };
  record(
    walk,
    e,
    path,
    rule.action,
    charset,
    walk.auditValues ? describeValue(outcome.value, e.vr, charset) : "",
  );
  walk.originals.push({ tag: e.tag, vr: e.vr, value });
  if (rule.action !== "cleanText") walk.generatedPaths.add(path);
  return next;
}

function record(
  walk: Walk,
  e: DataElement,
  path: string,
  action: ActionName,
  charset: Charset,
  after: string | null,
): void {
  const before = !walk.auditValues
    ? ""
    : e.items
      ? `<${e.items.length} items>`
      : e.fragments
        ? `<${e.fragments.length} bytes>`
        : describeValue(e.value, e.vr, charset);
  walk.changes.push({
    path,
    tag: tagHex(e.tag),
    keyword: keywordOf(e.tag) ?? null,
    vr: e.vr,
    action,
    before,
    after,
  });
}

/** Identifying values of the instance: every public PN/LO/SH/date/... value the plan does not keep. */
function collectIdentifiers(
  elements: readonly DataElement[],
  plan: Plan,
  inherited: Charset,
  out: string[] = [],
): string[] {
  const charset = charsetIn(elements, inherited);
  for (const e of elements) {
    if (isPrivateGroup(groupOf(e.tag))) continue;
    const rule = publicRuleFor(plan, e.tag, e.vr);
    if (e.items) {
      for (const item of e.items) collectIdentifiers(item.elements, plan, charset, out);
      continue;
    }
    if (!e.value || !IDENTIFIER_VRS.has(e.vr) || rule.action === "keep" || rule.action === "cleanText")
      continue;
    const text = CHARSET_VRS.has(e.vr) && charset.known ? decodeText(e.value, charset) : asciiValue(e.value);
    for (const v of text.split("\\")) out.push(v.replace(/[\s\0]+$/, ""));
  }
  return out;
}
