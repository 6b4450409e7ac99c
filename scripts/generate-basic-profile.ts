/**
 * Generates profiles/basic.json from PS3.15 Table E.1-1 (and Table E.3.10-1 for Retain Safe Private).
 *
 *   npm run generate:basic [-- <table-e1-1.json> <safe-private.json>]
 *
 * Defaults read ../shared/reference/. Re-run it when the standard changes; a test checks that the
 * committed file is exactly what this script produces.
 */
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import type { ActionName, OptionName, ProfileFile, ProfileRule, RuleAction } from "../src/profiles/types.js";

interface TableRow {
  tag: string;
  name: string;
  keyword: string | null;
  retired: boolean;
  basic: string;
  options: Record<OptionName, string | null>;
  pattern: boolean;
  vr: string | null;
}

interface SafePrivateRow {
  privateCreator: string;
  group: string;
  elementInBlock: string;
  meaning: string | null;
}

/**
 * How each code of the Basic Profile column is resolved. The compound codes leave the choice to IOD
 * conformance (the element's Type), which a de-identifier cannot know for every IOD; we take the
 * choice that is conformant for every Type and carries no information.
 */
export const BASIC_CODE_ACTIONS: Record<string, { action: ActionName; why: string }> = {
  X: { action: "remove", why: "remove" },
  Z: { action: "empty", why: "zero-length value" },
  D: { action: "dummy", why: "dummy value fitting the VR; a sequence is kept and its items cleaned" },
  K: { action: "keep", why: "keep" },
  C: { action: "cleanText", why: "clean" },
  U: { action: "remapUid", why: "keyed UID remap, consistent across instances" },
  "Z/D": { action: "dummy", why: "D: conformant for Type 1 and 2" },
  "X/Z": { action: "empty", why: "Z: conformant for Type 2 and 3" },
  "X/D": { action: "dummy", why: "D: conformant for Type 1 and 3" },
  "X/Z/D": { action: "dummy", why: "D: conformant for Type 1, 2 and 3" },
  "X/Z/U*": {
    action: "keep",
    why: "U: the sequence is kept, its items are cleaned by the same rules and the UIDs in them remapped",
  },
};

/** What C means depends on the option column (PS3.15 E.3). */
function optionAction(option: OptionName, code: string, row: TableRow): RuleAction {
  if (code === "K") return { action: "keep" };
  if (code !== "C") throw new Error(`unexpected code ${code} in option ${option} for ${row.tag}`);
  switch (option) {
    case "retainLongitudinalModifiedDates":
      return { action: "shiftDate" };
    case "retainDeviceIdentity":
      return { action: "dummy" }; // AE titles and network identifiers: replaced, not kept
    case "cleanStructuredContent":
      return { action: "keep" }; // the content tree is kept; its items are cleaned rule by rule
    case "cleanGraphics":
      // Overlay and curve bitmaps cannot be cleaned of text without pixel analysis: still removed.
      if (row.vr === "SQ") return { action: "keep" };
      return row.tag.includes("xx") && !row.tag.endsWith("4000)")
        ? { action: "remove" }
        : { action: "cleanText" };
    default:
      return { action: "cleanText" };
  }
}

/**
 * Rows where the general resolution would break the IOD, resolved by hand:
 * - Referenced Study Sequence is X/Z but Type 3 with 1-n items in General Study, so an empty sequence
 *   is invalid; its items hold only a SOP Class UID and a remapped SOP Instance UID, so it is treated
 *   like the X/Z/U* reference sequences: kept, cleaned, remapped.
 */
const ROW_OVERRIDES: Record<string, { action: ActionName; why: string }> = {
  "(0008,1110)": {
    action: "keep",
    why: "kept like the X/Z/U* reference sequences (items: class UID and remapped instance UID)",
  },
};

/** The basic action a table row resolves to (exported for the table-driven test). */
export function basicActionFor(
  row: Pick<TableRow, "tag" | "basic">,
): { action: ActionName; why: string } | undefined {
  return ROW_OVERRIDES[row.tag] ?? BASIC_CODE_ACTIONS[row.basic];
}

function ruleFor(row: TableRow): ProfileRule {
  const override = ROW_OVERRIDES[row.tag];
  const resolved = basicActionFor(row);
  if (!resolved) throw new Error(`unknown basic code ${row.basic} for ${row.tag}`);
  const options: Partial<Record<OptionName, RuleAction>> = {};
  for (const [option, code] of Object.entries(row.options) as Array<[OptionName, string | null]>) {
    if (code) options[option] = optionAction(option, code, row);
  }
  const selector = row.pattern
    ? { pattern: row.tag }
    : { tag: row.tag, ...(row.keyword ? { keyword: row.keyword } : {}) };
  return {
    ...selector,
    action: resolved.action,
    ...(Object.keys(options).length > 0 ? { options } : {}),
    note: `${row.name}: PS3.15 ${row.basic}${row.basic.includes("/") || override ? ` -> ${resolved.why}` : ""}`,
  };
}

/**
 * Rules the table implies without listing: the rest of an Overlay Plane whose data the table removes,
 * and the free text of SR TEXT content items, which sits inside Content Sequence (D; Clean Structured
 * Content C), kept as text only when that option is chosen.
 */
const EXTRA_RULES: ProfileRule[] = [
  {
    pattern: "(60xx,xxxx)",
    action: "remove",
    note: "Overlay Plane: with its Overlay Data removed (60xx,3000) the plane is incomplete (Type 1), so the whole plane goes",
  },
  {
    tag: "(0040,A160)",
    keyword: "TextValue",
    action: "dummy",
    options: { cleanStructuredContent: { action: "cleanText" } },
    note: "Text Value of SR content items: not a row of Table E.1-1, but inside Content Sequence (D)",
  },
];

export function generateBasicProfile(table: TableRow[], safePrivate: SafePrivateRow[]): ProfileFile {
  const privateRow = table.find((r) => r.pattern && r.tag.includes("odd"));
  if (!privateRow || privateRow.basic !== "X")
    throw new Error("the private-attributes row is missing or changed");
  const rules: ProfileRule[] = table.filter((r) => r !== privateRow).map(ruleFor);
  rules.push(...EXTRA_RULES);
  for (const row of safePrivate) {
    rules.push({
      privateCreator: row.privateCreator,
      group: row.group,
      element: row.elementInBlock,
      action: "remove",
      options: { retainSafePrivate: { action: "keep" } },
      note: `Table E.3.10-1${row.meaning ? `: ${row.meaning}` : ""}`,
    });
  }
  return {
    name: "basic",
    description:
      "DICOM PS3.15 Annex E Basic Application Level Confidentiality Profile (Table E.1-1), generated from the standard; private attributes removed",
    version: "2026d.1",
    edition: "2026d",
    defaults: { private: "remove", unlisted: "keep", unknown: "remove" },
    methodCodes: [{ code: "113100", meaning: "Basic Application Confidentiality Profile" }],
    rules,
  };
}

function main(): void {
  const here = path.dirname(fileURLToPath(import.meta.url));
  const root = path.resolve(here, "..", "..");
  const tablePath = process.argv[2] ?? path.resolve(root, "../shared/reference/ps3.15-table-e1-1.json");
  const safePath = process.argv[3] ?? path.resolve(root, "../shared/reference/ps3.15-safe-private.json");
  const profile = generateBasicProfile(
    JSON.parse(fs.readFileSync(tablePath, "utf8")) as TableRow[],
    JSON.parse(fs.readFileSync(safePath, "utf8")) as SafePrivateRow[],
  );
  const out = path.resolve(root, "profiles/basic.json");
  fs.writeFileSync(out, serializeProfile(profile));
  console.log(`wrote ${out}: ${profile.rules.length} rules`);
}

/** One rule per line: diffs of a regenerated profile stay readable. */
export function serializeProfile(profile: ProfileFile): string {
  const { rules, ...head } = profile;
  const headJson = JSON.stringify(head, null, 2).slice(0, -2);
  return `${headJson},\n  "rules": [\n${rules.map((r) => `    ${JSON.stringify(r)}`).join(",\n")}\n  ]\n}\n`;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === path.resolve(process.argv[1])) main();
