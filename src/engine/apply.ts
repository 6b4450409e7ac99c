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
import { asciiValue, encodeValue } from "../dicom/values.js";
import { CHARSET_VRS, SINGLE_VALUE_TEXT_VRS } from "../dicom/vr.js";
import { DeidentificationError } from "../errors.js";
import type { ActionName, AuditActionName, RuleAction } from "../profiles/types.js";
import { ActionDoesNotFitVr, applyAction, describeValue, type ValueContext } from "./actions.js";
import { identifierMatcher } from "./clean-text.js";
import { cachedMethodElements, METHOD_TAGS } from "./deidentification-method.js";
import {
  compileNeedles,
  identifyingNeedles,
  IDENTIFYING_CONCEPT,
  isIdentifying,
  isVocabulary,
  needlesOf,
  SEARCHED_TEXT_VRS,
  tokenRegExp,
  vocabularyOf,
  type NeedleMatcher,
} from "./identifiers.js";
import { privateRuleFor, publicRuleFor, type CompiledLookup, type CompiledRule, type Plan } from "./plan.js";
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
  /** Why, when the profile's rule is not the whole story (a fallback, a sweep, a block). */
  readonly reason?: string;
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
  /** The input's top-level elements: a lookup's key attribute is read there, as it was. */
  readonly topLevel: readonly DataElement[];
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
    topLevel: dataset,
    identifiers: () => {
      if (matcher === null)
        matcher = identifierMatcher(
          collectIdentifiers(dataset, plan, DEFAULT_CHARSET, vocabularyOf(dataset)),
        );
      return matcher;
    },
    dateShiftDays: (maxDays) => {
      patientId ??= asciiValue(dataset.find((e) => e.tag === PATIENT_ID)?.value);
      return (uids.keyedHash("dateshift", patientId).readUInt32BE(0) % maxDays) + 1;
    },
  };
  const walked = walkElements(dataset, walk, "", DEFAULT_CHARSET);
  // Kept text that still holds an identifying value of the instance (a device ID copied into a
  // description, a station name in Radiation Machine Name) is cleaned of it, with the reason.
  const needles = identifyingNeedles(walk.originals, vocabularyOf(walked));
  const out = needles.length > 0 ? sweep(walked, walk, compileNeedles(needles), "", DEFAULT_CHARSET) : walked;
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
  return privateRuleFor(plan, tag, creators.get(privateCreatorTagOf(tag)), vr);
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
  let hasPrivate = false;
  for (const e of elements) {
    if (elementOf(e.tag) === 0 || isPrivateCreator(e.tag)) continue;
    const rule = ruleForElement(walk.plan, e.tag, creators, e.vr);
    rules.set(e, rule);
    if (isPrivateGroup(groupOf(e.tag))) {
      hasPrivate = true;
      if (rule.action !== "remove") usedCreators.add(privateCreatorTagOf(e.tag));
    }
  }

  // A private block removed whole is one audit entry (on its creator, or on its first element when
  // no creator reserved it), not one per element: 2M tiny private elements make one entry.
  const blockSizes = new Map<Tag, number>();
  if (hasPrivate) {
    for (const e of elements) {
      if (!isPrivateGroup(groupOf(e.tag)) || elementOf(e.tag) === 0 || isPrivateCreator(e.tag)) continue;
      const block = privateCreatorTagOf(e.tag);
      if (!usedCreators.has(block)) blockSizes.set(block, (blockSizes.get(block) ?? 0) + 1);
    }
  }
  let recordedBlocks: Set<Tag> | undefined;
  const recordBlock = (e: DataElement, block: Tag, path: string) => {
    recordedBlocks ??= new Set<Tag>();
    if (recordedBlocks.has(block)) return;
    recordedBlocks.add(block);
    const n = blockSizes.get(block) ?? 0;
    walk.changes.push({
      path,
      tag: tagHex(e.tag),
      keyword: null,
      vr: e.vr,
      action: "remove",
      before: walk.auditValues ? `<private block of ${n} element${n === 1 ? "" : "s"}>` : "",
      after: null,
      reason: "private block removed whole",
    });
  };

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
      else if (blockSizes.has(e.tag)) recordBlock(e, e.tag, path);
      else record(walk, e, path, "remove", charset, null);
      continue;
    }
    if (prefix === "" && METHOD_TAGS.has(e.tag)) recordMethodOverwrite(e, walk, path, charset);
    const rule = rules.get(e)!;
    if (isPrivateGroup(groupOf(e.tag)) && rule.action === "remove") {
      const block = privateCreatorTagOf(e.tag);
      if (!usedCreators.has(block)) {
        if (!creators.has(block)) recordBlock(e, block, path);
        remember(walk, e);
        continue;
      }
    }
    const kept = applyRule(e, rule, walk, path, charset);
    if (kept) out.push(kept);
  }
  return codedIdentifyingContent(elements, out, walk, prefix, charset);
}

/** The input's own method attributes are overwritten after apply (anonymize.ts): say so in the audit. */
function recordMethodOverwrite(e: DataElement, walk: Walk, path: string, charset: Charset): void {
  const replacement = cachedMethodElements(walk.plan).find((m) => m.tag === e.tag);
  if (!replacement) return;
  const same =
    !e.items &&
    !replacement.items &&
    e.value !== undefined &&
    replacement.value !== undefined &&
    Buffer.compare(Buffer.from(e.value), Buffer.from(replacement.value)) === 0;
  if (same) return;
  const after = replacement.items
    ? `<${replacement.items.length} items>`
    : describeValue(replacement.value, replacement.vr, charset);
  record(
    walk,
    e,
    path,
    "replace",
    charset,
    walk.auditValues ? after : "",
    "de-identification method rewritten",
  );
}

const GENERATING = new Set<ActionName>(["dummy", "replace", "pseudonym"]);

function isBlank(value: Uint8Array): boolean {
  for (const b of value) if (b !== 0x20 && b !== 0) return false;
  return true;
}

/** The identifying values inside a removed sequence, at any depth. */
function rememberDeep(walk: Walk, e: DataElement): void {
  for (const item of e.items ?? [])
    for (const x of item.elements) {
      if (x.items) rememberDeep(walk, x);
      else remember(walk, x);
    }
}

/** Keeps an original for the verifier and the sweep when it identifies (others are not searched). */
function remember(walk: Walk, e: DataElement, value = e.value): void {
  if (value && value.length > 0 && isIdentifying(e.tag, e.vr))
    walk.originals.push({ tag: e.tag, vr: e.vr, value });
}

const VALUE_TYPE = 0x0040a040;
const CONCEPT_NAME_CODE_SEQUENCE = 0x0040a043;
const CONCEPT_CODE_SEQUENCE = 0x0040a168;
const CODE_VALUE = 0x00080100;
const CODE_MEANING = 0x00080104;
const TEXT_VALUE = 0x0040a160;

/**
 * SR coded content whose concept names an institution, a person or a place ("Hospital Name"): its
 * coded value (Code Value, Code Meaning of the Concept Code Sequence) is treated as the profile treats
 * SR free text (Text Value): dummy under basic, cleaned with Clean Structured Content.
 */
function codedIdentifyingContent(
  input: readonly DataElement[],
  out: DataElement[],
  walk: Walk,
  prefix: string,
  charset: Charset,
): DataElement[] {
  if (asciiValue(input.find((e) => e.tag === VALUE_TYPE)?.value).trim() !== "CODE") return out;
  const conceptName = input.find((e) => e.tag === CONCEPT_NAME_CODE_SEQUENCE)?.items?.[0]?.elements;
  const meaning = conceptName?.find((e) => e.tag === CODE_MEANING);
  if (!meaning?.value || !IDENTIFYING_CONCEPT.test(Buffer.from(meaning.value).toString("latin1"))) return out;
  const rule = publicRuleFor(walk.plan, TEXT_VALUE, "UT");
  if (rule.action === "keep") return out;
  return out.map((e) => {
    if (e.tag !== CONCEPT_CODE_SEQUENCE || !e.items) return e;
    const path = `${prefix}${tagHex(e.tag)}`;
    const items = e.items.map((item, i): Item => {
      const elements = item.elements.map((x) => {
        if ((x.tag !== CODE_VALUE && x.tag !== CODE_MEANING) || !x.value) return x;
        const codedRule: CompiledRule =
          rule.action === "cleanText" || rule.action === "dummy" || rule.action === "empty"
            ? rule
            : { action: "dummy", selector: rule.selector };
        return applyRule(
          x,
          codedRule,
          walk,
          `${path}[${i}].${tagHex(x.tag)}`,
          charset,
          "identifying SR concept",
        );
      });
      return { ...item, elements: elements.filter((x): x is DataElement => x !== undefined) };
    });
    return { ...e, items };
  });
}

/**
 * The sweep: kept text that holds an identifying value of the instance is cleaned of that value (the
 * same token match as the verifier's). Generated values and the method attributes are not touched.
 */
function sweep(
  elements: readonly DataElement[],
  walk: Walk,
  needles: NeedleMatcher,
  prefix: string,
  inherited: Charset,
): DataElement[] {
  const charset = charsetIn(elements, inherited);
  // Copied only when something changes: most items of a large enhanced instance have nothing to sweep.
  let out: DataElement[] | undefined;
  for (let k = 0; k < elements.length; k++) {
    const e = elements[k]!;
    let next: DataElement = e;
    if (e.items) {
      const path = prefix + tagHex(e.tag);
      let items: Item[] | undefined;
      for (let i = 0; i < e.items.length; i++) {
        const item = e.items[i]!;
        const swept = sweep(item.elements, walk, needles, `${path}[${i}].`, charset);
        if (swept === item.elements) continue;
        items ??= e.items.slice();
        items[i] = { ...item, elements: swept };
      }
      if (items) next = { ...e, items };
    } else if (
      e.value &&
      e.value.length > 0 &&
      SEARCHED_TEXT_VRS.has(e.vr) &&
      !isPrivateCreator(e.tag) &&
      !(prefix === "" && METHOD_TAGS.has(e.tag))
    ) {
      next = sweepValue(e, walk, needles, prefix + tagHex(e.tag), charset);
    }
    if (next !== e) {
      out ??= elements.slice();
      out[k] = next;
    }
  }
  return out ?? (elements as DataElement[]);
}

/** One kept text value: cleaned of the needles it holds, as whole tokens (the verifier's semantics). */
function sweepValue(
  e: DataElement,
  walk: Walk,
  needles: NeedleMatcher,
  path: string,
  charset: Charset,
): DataElement {
  if (walk.generatedPaths.has(path)) return e;
  const value = e.value!;
  let text = Buffer.from(value.buffer, value.byteOffset, value.length).toString("latin1");
  const hits = needles.hits(e.tag, e.vr, text);
  if (hits.length === 0) return e;
  // Longest first, so that a whole name goes before its parts.
  for (const n of [...hits].sort((a, b) => b.text.length - a.text.length))
    text = text.replace(tokenRegExp(n.text, "gi"), "");
  const values = (SINGLE_VALUE_TEXT_VRS.has(e.vr) ? [text] : text.split("\\")).map((v) =>
    v.replace(/[ \t]{2,}/g, " ").replace(/^[ ,;:=/^-]+|[ ,;:=/^\0-]+$/g, ""),
  );
  const cleaned = values.every((v) => v === "") ? "ANON" : values.join("\\");
  const next = encodeValue(cleaned, e.vr, "latin1");
  record(
    walk,
    e,
    path,
    "cleanText",
    charset,
    walk.auditValues ? describeValue(next, e.vr, charset) : "",
    `held an identifying value of ${tagParen(hits[0]!.tag)}`,
  );
  remember(walk, e);
  return { tag: e.tag, vr: e.vr, value: next, undefinedLength: false };
}

function applyRule(
  e: DataElement,
  rule: CompiledRule,
  walk: Walk,
  path: string,
  charset: Charset,
  reason?: string,
): DataElement | undefined {
  const where = tagParen(e.tag);
  if (e.items) {
    switch (rule.action) {
      case "remove":
        record(walk, e, path, "remove", charset, null);
        rememberDeep(walk, e);
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
  // An empty value carries nothing: it is kept as it is, whatever its VR, unless the rule removes it
  // or generates a value (dummy, replace, pseudonym).
  if (isBlank(value) && !GENERATING.has(rule.action)) {
    if (rule.action !== "remove") return e;
    record(walk, e, path, "remove", charset, null, reason);
    return undefined;
  }
  const ctx: ValueContext = {
    vr: e.vr,
    where,
    charset,
    uids: walk.uids,
    identifiers: walk.identifiers,
    dateShiftDays: walk.dateShiftDays,
  };
  let outcome;
  let action: ActionName = rule.action;
  let effective: RuleAction = rule;
  if (rule.lookupTable) {
    const looked = lookedUp(rule, rule.lookupTable, e, value, walk, charset);
    effective = looked.rule;
    reason ??= looked.reason;
  }
  try {
    outcome = applyAction(value, effective, ctx);
  } catch (error) {
    // An action that does not fit the VR the value was encoded with (a date rule on a DS, cleanText
    // on a binary VR): the value is emptied instead, which is always safe, and the audit says why.
    if (!(error instanceof ActionDoesNotFitVr)) throw error;
    outcome = { kind: "set" as const, value: new Uint8Array(0) };
    action = "empty";
    reason = `${rule.action} does not fit VR ${e.vr}: emptied`;
  }
  if (outcome.kind === "keep") return e;
  if (outcome.kind === "remove") {
    record(walk, e, path, action, charset, null, reason);
    remember(walk, e, value);
    return undefined;
  }
  if (Buffer.compare(outcome.value, value) === 0) return e;
  const next: DataElement = { tag: e.tag, vr: e.vr, value: outcome.value, undefinedLength: false };
  record(
    walk,
    e,
    path,
    action,
    charset,
    walk.auditValues ? describeValue(outcome.value, e.vr, charset) : "",
    reason,
  );
  remember(walk, e, value);
  if (rule.action !== "cleanText") walk.generatedPaths.add(path);
  return next;
}

/**
 * A rule with a lookup table: the new value is the table's entry for the key (the original value of
 * the key attribute, or of the element itself). A miss fails the instance or falls back, as the rule
 * says. Reasons name the tag and the table, never the key or the value.
 */
function lookedUp(
  rule: CompiledRule,
  lookup: CompiledLookup,
  e: DataElement,
  value: Uint8Array,
  walk: Walk,
  charset: Charset,
): { rule: RuleAction; reason?: string } {
  let key: string;
  if (lookup.keyTag === undefined) key = describeValue(value, e.vr, charset).trim();
  else {
    const source = walk.topLevel.find((x) => x.tag === lookup.keyTag);
    key = source?.value
      ? describeValue(source.value, source.vr, charsetIn(walk.topLevel, DEFAULT_CHARSET)).trim()
      : "";
  }
  const hit = key === "" ? undefined : lookup.entries.get(key);
  if (hit !== undefined) return { rule: { action: "replace", value: hit } };
  const { lookup: _spec, ...withoutLookup } = rule;
  switch (lookup.onMissing) {
    case "pseudonym":
      return {
        rule: { action: "pseudonym", ...(rule.prefix !== undefined ? { prefix: rule.prefix } : {}) },
        reason: `not in lookup table ${lookup.name}: pseudonym`,
      };
    case "keep-rule-default":
      return { rule: withoutLookup, reason: `not in lookup table ${lookup.name}: the rule's ${rule.action}` };
    default:
      throw new DeidentificationError(`${tagParen(e.tag)}: no entry in lookup table ${lookup.name}`);
  }
}

function record(
  walk: Walk,
  e: DataElement,
  path: string,
  action: ActionName,
  charset: Charset,
  after: string | null,
  reason?: string,
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
    ...(reason ? { reason } : {}),
  });
}

/**
 * Identifying values of the instance (identifiers.ts), for Clean Descriptors: whole values, and the
 * parts of person names. Descriptions are not identifiers: their words are clinical words.
 */
function collectIdentifiers(
  elements: readonly DataElement[],
  plan: Plan,
  inherited: Charset,
  vocabulary: readonly string[],
  out: string[] = [],
): string[] {
  const charset = charsetIn(elements, inherited);
  for (const e of elements) {
    if (isPrivateGroup(groupOf(e.tag))) continue;
    if (e.items) {
      for (const item of e.items) collectIdentifiers(item.elements, plan, charset, vocabulary, out);
      continue;
    }
    if (!e.value || e.vr === "UI" || !isIdentifying(e.tag, e.vr)) continue;
    const rule = publicRuleFor(plan, e.tag, e.vr);
    if (rule.action === "keep" || rule.action === "cleanText") continue;
    for (const n of needlesOf(e.tag, e.vr, e.value)) {
      if (isVocabulary(n, vocabulary)) continue;
      const bytes = Buffer.from(n.text, "latin1");
      out.push(CHARSET_VRS.has(e.vr) && charset.known ? decodeText(bytes, charset) : n.text);
    }
    if (e.vr === "PN" && charset.known) {
      // Short name parts (3 letters: "DOE") too; the verifier's needles start at 4.
      for (const part of decodeText(e.value, charset).split(/[\s^=\\]+/))
        if (part.length === 3 && /\p{L}{3}/u.test(part)) out.push(part);
    }
  }
  return out;
}
