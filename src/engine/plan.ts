/**
 * Compiling a profile (and the profiles it extends, and the options it names) into a frozen Plan in
 * which every tag has exactly one action.
 *
 * Precedence, written once:
 *   1. Layers apply root first (`basic`, then a profile that extends it, ...); a layer's rule replaces
 *      an earlier rule for the same selector. Then every option named anywhere in the chain rewrites
 *      the rules that declare an action for it (PS3.15: used "in place of" the basic action). A rule a
 *      child profile writes declares no options unless it says so, so options never undo it.
 *   2. At lookup, an exact tag rule beats a pattern rule, and a more specific pattern beats a less
 *      specific one ((60xx,3000) before (60xx,xxxx)); a private rule for (creator, group, element)
 *      beats (creator, group), which beats (creator); then the profile's private / unlisted default.
 *   3. A person name (PN) is never kept by a default: without a rule that names it (its tag, a
 *      pattern or a PN VR rule), it is removed. A public element the dictionary does not know gets a
 *      VR rule for the VR it was read with, else the `unknown` default (remove unless a profile says
 *      keep, which is unsafe: such an element can hold anything, e.g. a bit-flipped Patient Name).
 */
import { lookupTag, tagOfKeyword, tagsWithVr } from "../dicom/dictionary.js";
import { elementOf, groupOf, isPrivateGroup, parseTag, type Tag } from "../dicom/tag.js";
import type { PixelConfig } from "../pixel/config.js";
import {
  OPTION_CODES,
  type ActionName,
  type LookupOnMissing,
  type LookupTableSpec,
  type OptionName,
  type ProfileFile,
  type ProfileRule,
  type RuleAction,
} from "../profiles/types.js";

export interface CompiledRule extends RuleAction {
  /** Human-readable selector, for the compiled-rules listing. */
  readonly selector: string;
  /** The rule's `lookup`, resolved: its table's entries and the key attribute's tag. */
  readonly lookupTable?: CompiledLookup;
}

export interface CompiledLookup {
  readonly name: string;
  readonly entries: ReadonlyMap<string, string>;
  /** The top-level attribute whose original value is the key; undefined: the element itself. */
  readonly keyTag?: Tag;
  readonly onMissing: LookupOnMissing;
}

export interface MethodCode {
  readonly code: string;
  readonly meaning: string;
}

export interface Plan {
  readonly name: string;
  readonly version: string;
  readonly description: string;
  readonly edition?: string;
  readonly extends?: string;
  readonly options: readonly OptionName[];
  readonly exact: ReadonlyMap<Tag, CompiledRule>;
  readonly patterns: ReadonlyArray<{
    readonly mask: number;
    readonly value: number;
    readonly rule: CompiledRule;
  }>;
  /** Keyed `creator|group|element`, `creator|group|` and `creator||`. */
  readonly privateRules: ReadonlyMap<string, CompiledRule>;
  /** For attributes the dictionary does not know, read with an explicit VR that a VR rule names. */
  readonly byVr: ReadonlyMap<string, CompiledRule>;
  readonly privateDefault: CompiledRule;
  readonly unlistedDefault: CompiledRule;
  /** Public elements the dictionary does not know (PS3.15 removes what it does not know to be safe). */
  readonly unknownDefault: CompiledRule;
  readonly methodCodes: readonly MethodCode[];
  /** (0028,0303) Longitudinal Temporal Information Modified. */
  readonly longitudinal: "UNMODIFIED" | "MODIFIED" | "REMOVED";
  readonly ruleCount: number;
  readonly burnedInAnnotation: "reject" | "allow";
  /** The Clean Pixel Data step; absent when no profile of the chain has a `pixel` block. */
  readonly pixel?: PixelConfig;
}

/**
 * Defaults of the `pixel` block (the default scope). Secondary Capture and Ultrasound SOP
 * classes are scanned whatever their Modality says (a screenshot of a CT often says CT).
 */
export const DEFAULT_PIXEL_SCOPE = {
  modalities: ["US", "SC", "OT", "XA", "RF", "ES", "XC", "GM", "DOC"],
  sopClasses: [
    "1.2.840.10008.5.1.4.1.1.7", // Secondary Capture Image
    "1.2.840.10008.5.1.4.1.1.7.2", // Multi-frame Grayscale Byte SC
    "1.2.840.10008.5.1.4.1.1.7.3", // Multi-frame Grayscale Word SC
    "1.2.840.10008.5.1.4.1.1.7.4", // Multi-frame True Color SC
    "1.2.840.10008.5.1.4.1.1.6.1", // Ultrasound Image
    "1.2.840.10008.5.1.4.1.1.3.1", // Ultrasound Multi-frame Image
  ] as string[],
  burnedInAnnotationYes: true,
} as const;

function compilePixel(chain: readonly ProfileFile[]): PixelConfig | undefined {
  const blocks = chain.map((l) => l.pixel).filter((b) => b !== undefined);
  if (blocks.length === 0) return undefined;
  let config: PixelConfig = {
    detector: false,
    padding: 2,
    scope: DEFAULT_PIXEL_SCOPE,
    unmatched: "reject",
    templates: [],
    lossy: "refuse",
  };
  for (const b of blocks) {
    config = {
      detector: b.detector ?? config.detector,
      ...((b.recheck ?? config.recheck) ? { recheck: b.recheck ?? config.recheck } : {}),
      padding: b.padding ?? config.padding,
      scope: { ...config.scope, ...b.scope },
      unmatched: b.unmatched ?? config.unmatched,
      templates: [...config.templates, ...(b.templates ?? [])],
      lossy: b.lossy ?? config.lossy,
    };
  }
  return Object.freeze(config);
}

interface Layered {
  base: RuleAction;
  options?: ProfileRule["options"];
  selector: string;
  /** The lookup tables of the layer the rule comes from (a rule names its own profile's tables). */
  tables?: ProfileFile["lookupTables"];
}

const tableCache = new WeakMap<LookupTableSpec, ReadonlyMap<string, string>>();

function compileLookup(rule: RuleAction, tables: ProfileFile["lookupTables"]): CompiledLookup | undefined {
  if (!rule.lookup) return undefined;
  const spec = tables?.[rule.lookup.table];
  // validate.ts refuses a rule that names a table its profile does not have.
  if (!spec?.rows) throw new Error(`lookup table ${rule.lookup.table} was not validated`);
  let entries = tableCache.get(spec);
  if (!entries) {
    entries = new Map(spec.rows.map(([k, v]) => [k, v]));
    tableCache.set(spec, entries);
  }
  return {
    name: rule.lookup.table,
    entries,
    ...(rule.lookup.key !== undefined ? { keyTag: tagOfKeyword(rule.lookup.key) } : {}),
    onMissing: rule.lookup.onMissing ?? "fail",
  };
}

function selectorKey(rule: ProfileRule): string {
  if (rule.tag !== undefined) return `tag:${parseTag(rule.tag)}`;
  if (rule.keyword !== undefined) return `tag:${tagOfKeyword(rule.keyword)}`;
  if (rule.pattern !== undefined) return `pattern:${rule.pattern}`;
  return `private:${privateKey(rule.privateCreator!, rule.group, rule.element)}`;
}

export function privateKey(creator: string, group = "", element = ""): string {
  return `${creator.trim()}|${group}|${element}`;
}

function describe(rule: ProfileRule): string {
  if (rule.tag !== undefined) return rule.keyword ? `${rule.tag} ${rule.keyword}` : rule.tag;
  if (rule.keyword !== undefined) return rule.keyword;
  if (rule.pattern !== undefined) return rule.pattern;
  return `private "${rule.privateCreator}" ${rule.group ?? "gggg"},xx${rule.element ?? "ee"}`;
}

function actionOf(spec: RuleAction): RuleAction {
  const { action, value, maxYears, prefix, fallback, maxDays, lookup } = spec;
  return Object.fromEntries(
    Object.entries({ action, value, maxYears, prefix, fallback, maxDays, lookup }).filter(
      ([, v]) => v !== undefined,
    ),
  ) as unknown as RuleAction;
}

/** `chain` is root first: [basic, hipaa]. */
export function compilePlan(chain: readonly ProfileFile[]): Plan {
  const leaf = chain[chain.length - 1]!;
  const pixel = compilePixel(chain);
  const rules = new Map<string, Layered>();
  const options = new Set<OptionName>();
  let privateDefault: ActionName = "remove";
  let unlistedDefault: ActionName = "keep";
  let unknownDefault: ActionName = "remove";
  const methodCodes: MethodCode[] = [];
  const byVr = new Map<string, CompiledRule>();
  let edition: string | undefined;
  let burnedInAnnotation: "reject" | "allow" = "reject";

  for (const layer of chain) {
    // VR rules first, expanded over the dictionary, so that the layer's own tag rules win over them.
    for (const rule of layer.rules) {
      if (!rule.vr) continue;
      const vrs = new Set(rule.vr);
      const base = actionOf(rule);
      const selector = `VR ${[...vrs].join("/")}`;
      for (const tag of tagsWithVr(vrs)) {
        if (!isPrivateGroup(groupOf(tag)))
          rules.set(`tag:${tag}`, { base, selector, tables: layer.lookupTables });
      }
      const lookupTable = compileLookup(base, layer.lookupTables);
      for (const vr of vrs)
        byVr.set(
          vr,
          Object.freeze({ ...actionOf(rule), selector: `VR ${vr}`, ...(lookupTable ? { lookupTable } : {}) }),
        );
    }
    for (const rule of layer.rules) {
      if (rule.vr) continue;
      rules.set(selectorKey(rule), {
        base: actionOf(rule),
        options: rule.options,
        selector: describe(rule),
        tables: layer.lookupTables,
      });
    }
    for (const option of layer.options ?? []) options.add(option);
    privateDefault = layer.defaults?.private ?? privateDefault;
    unlistedDefault = layer.defaults?.unlisted ?? unlistedDefault;
    unknownDefault = layer.defaults?.unknown ?? unknownDefault;
    for (const m of layer.methodCodes ?? [])
      if (!methodCodes.some((c) => c.code === m.code)) methodCodes.push(m);
    edition = layer.edition ?? edition;
    burnedInAnnotation = layer.burnedInAnnotation ?? burnedInAnnotation;
  }
  // Options rewrite only the rules that declare what the option does to them (the table's columns).
  // Where two options in effect disagree (Retain Device Identity keeps Date of Last Calibration,
  // Modified Dates shifts it), the less identifying result wins: a kept calibration date would give
  // away the real study date that the shift hides.
  for (const rule of rules.values()) {
    let chosen: RuleAction | undefined;
    for (const option of options) {
      const replacement = rule.options?.[option];
      if (replacement === undefined) continue;
      const candidate = typeof replacement === "string" ? { action: replacement } : replacement;
      if (!chosen || PROTECTION[candidate.action] <= PROTECTION[chosen.action]) chosen = candidate;
    }
    if (chosen) rule.base = chosen;
  }
  for (const option of options) {
    const [code, meaning] = OPTION_CODES[option];
    methodCodes.push({ code, meaning });
  }

  const exact = new Map<Tag, CompiledRule>();
  const patterns: Array<{ mask: number; value: number; rule: CompiledRule }> = [];
  const privateRules = new Map<string, CompiledRule>();
  for (const [key, layered] of rules) {
    const lookupTable = compileLookup(layered.base, layered.tables);
    const compiled: CompiledRule = Object.freeze({
      ...layered.base,
      selector: layered.selector,
      ...(lookupTable ? { lookupTable } : {}),
    });
    if (key.startsWith("tag:")) exact.set(Number(key.slice(4)), compiled);
    else if (key.startsWith("pattern:")) patterns.push({ ...patternMask(key.slice(8)), rule: compiled });
    else privateRules.set(key.slice(8), compiled);
  }

  // The most specific pattern first: (60xx,3000) before (60xx,xxxx).
  patterns.sort((a, b) => popcount(b.mask) - popcount(a.mask));

  const allActions = [...rules.values()].map((r) => r.base.action);
  const longitudinal = options.has("retainLongitudinalFullDates")
    ? "UNMODIFIED"
    : allActions.includes("shiftDate") || allActions.includes("yearOnly")
      ? "MODIFIED"
      : "REMOVED";

  return Object.freeze({
    name: leaf.name,
    version: leaf.version,
    description: leaf.description,
    edition,
    extends: leaf.extends,
    options: [...options],
    exact,
    patterns,
    privateRules,
    byVr,
    privateDefault: Object.freeze({ action: privateDefault, selector: "private default" }),
    unlistedDefault: Object.freeze({ action: unlistedDefault, selector: "unlisted default" }),
    unknownDefault: Object.freeze({ action: unknownDefault, selector: "unknown default" }),
    methodCodes,
    longitudinal,
    ruleCount: rules.size,
    burnedInAnnotation,
    ...(pixel ? { pixel } : {}),
  });
}

function popcount(n: number): number {
  let count = 0;
  for (let v = n >>> 0; v !== 0; v >>>= 1) count += v & 1;
  return count;
}

/** `(60xx,3000)` -> mask/value over the 32-bit tag. */
function patternMask(pattern: string): { mask: number; value: number } {
  const hex = pattern.replace(/[(),]/g, "");
  let mask = 0;
  let value = 0;
  for (const ch of hex) {
    mask = mask * 16 + (ch === "x" ? 0 : 15);
    value = value * 16 + (ch === "x" ? 0 : parseInt(ch, 16));
  }
  return { mask: mask >>> 0, value: value >>> 0 };
}

/** The rule for a public (even-group) tag; `vr` is the VR the element was read with. */
/** How much of the original an action leaves: lower is more protective (for options that disagree). */
const PROTECTION: Record<ActionName, number> = {
  remove: 0,
  empty: 1,
  dummy: 2,
  replace: 2,
  pseudonym: 2,
  remapUid: 2,
  yearOnly: 3,
  shiftDate: 3,
  zeroTime: 3,
  capAge: 3,
  cleanText: 3,
  keep: 4,
};

export function publicRuleFor(plan: Plan, tag: Tag, vr?: string): CompiledRule {
  const exact = plan.exact.get(tag);
  if (exact) return exact;
  for (const p of plan.patterns) if ((tag & p.mask) >>> 0 === p.value) return p.rule;
  const known = lookupTag(tag);
  if (!known || known.vr === "UN") {
    const byVr = vr !== undefined ? plan.byVr.get(vr) : undefined;
    if (byVr) return byVr;
    return vr === "PN" ? PN_WITHOUT_RULE : plan.unknownDefault;
  }
  if (vr === "PN" || known.vr === "PN") return plan.byVr.get("PN") ?? PN_WITHOUT_RULE;
  return plan.unlistedDefault;
}

/** A person name that no rule names is removed, whatever the defaults say. */
const PN_WITHOUT_RULE: CompiledRule = Object.freeze({ action: "remove", selector: "PN without a rule" });

/** The rule for a private data element, given its block's creator (undefined when none reserved it). */
export function privateRuleFor(plan: Plan, tag: Tag, creator: string | undefined, vr?: string): CompiledRule {
  if (creator !== undefined) {
    const group = groupOf(tag).toString(16).toUpperCase().padStart(4, "0");
    const element = (elementOf(tag) & 0xff).toString(16).toUpperCase().padStart(2, "0");
    const rule =
      plan.privateRules.get(privateKey(creator, group, element)) ??
      plan.privateRules.get(privateKey(creator, group)) ??
      plan.privateRules.get(privateKey(creator));
    if (rule) return rule;
  }
  // A private person name is kept only by a rule that names its block, never by the default.
  if (vr === "PN" && plan.privateDefault.action !== "remove") return PN_WITHOUT_RULE;
  return plan.privateDefault;
}
