/** Which profile a request asks for: ?profile=<name>, a custom profile part, or the default. */
import type { EnginePool, ProfileRef } from "../engine/pool.js";
import type { Plan } from "../engine/plan.js";
import { ProfileError } from "../errors.js";
import type { ProfileRegistry } from "../profiles/registry.js";
import { ACTION_NAMES, OPTION_NAMES } from "../profiles/types.js";
import { badRequest, notFound } from "./problem.js";

export interface ProfileChoice {
  readonly plan: Plan;
  readonly ref: ProfileRef;
  /** The metrics label: a registered name, or "custom". */
  readonly label: string;
}

export function namedProfile(registry: ProfileRegistry, name: string): ProfileChoice {
  const plan = registry.get(name);
  // Never echo the name: error bodies carry no value from the request.
  if (!plan) throw notFound("the profile parameter names no known profile; GET /profiles lists them");
  return { plan, ref: { name }, label: name };
}

export function customProfile(registry: ProfileRegistry, data: Buffer): ProfileChoice {
  let json: unknown;
  try {
    json = JSON.parse(data.toString("utf8"));
  } catch {
    throw badRequest("the custom profile part is not valid JSON");
  }
  try {
    return { plan: registry.compileCustom(json, "profile part"), ref: { custom: json }, label: "custom" };
  } catch (error) {
    if (error instanceof ProfileError) throw badRequest(customProfileProblem(error));
    throw error;
  }
}

export type { EnginePool };

/** The metrics label of a profile: its name when it is a registered profile, else "custom". */
export function profileLabel(registry: ProfileRegistry, name: string): string {
  return registry.names().includes(name) ? name : "custom";
}

/** Field names of the profile format (README, "The format"): a JSON path made of these names no value. */
const FORMAT_FIELDS = new Set<string>([
  ...["$schema", "name", "description", "version", "extends", "options", "defaults", "methodCodes"],
  ...["edition", "burnedInAnnotation", "rules", "private", "unlisted", "id", "act"],
  ...["tag", "keyword", "vr", "pattern", "privateCreator", "group", "element", "action", "value"],
  ...["maxYears", "prefix", "fallback", "maxDays", "note"],
  ...["lookupTables", "lookup", "table", "key", "onMissing", "rows", "file"],
  ...["pixel", "detector", "padding", "scope", "modalities", "sopClasses", "burnedInAnnotationYes"],
  ...[
    "unmatched",
    "recheck",
    "lossy",
    "templates",
    "manufacturer",
    "model",
    "columns",
    "softwareVersionPrefix",
    "boxes",
  ],
  ...OPTION_NAMES,
]);

/** The validator's messages that interpolate nothing from the profile (others may quote its values). */
const FIXED_MESSAGE = new RegExp(
  "^(?:" +
    [
      "must be an object",
      "must be an array",
      "must be a string",
      'only "replace" takes a value',
      "must be an integer 0-999 on a capAge rule",
      "must be a positive integer on a shiftDate rule",
      'only "pseudonym" takes (?:prefix|fallback)',
      "needs one of tag, keyword, vr, pattern or privateCreator",
      "has more than one selector \\((?:tag|keyword|vr|pattern|privateCreator)(?:, (?:tag|keyword|vr|pattern|privateCreator))*\\)",
      "must look like \\(60xx,3000\\): hex digits or x",
      "must be an odd \\(private\\) group in 4 hex digits",
      "must be the element in the block: 10 or xx10",
      "group and element go with privateCreator",
      "must be 1-64 letters, digits, '\\.', '_' or '-'",
      'must be "reject" or "allow"',
      'must be "keep" or "remove"',
      'only "replace" and "pseudonym" take a lookup',
      "must be one of fail, pseudonym, keep-rule-default",
      "must name a public attribute",
      "needs either file or rows",
      "a profile sent with a request can only have inline rows, not files",
      "has more than \\d+ rows",
      "must be true or false",
      "must be an integer \\d+-\\d+",
      "is not a valid value",
      'must be "reject" or "pass"',
      'must be "boxes" or "frame"',
      "must not be empty",
      "must be \\[x, y, width, height\\]",
      "width and height must be at least 1",
      "lies outside the \\d+x\\d+ frame",
      "must list at least one box",
      "rows\\[\\d+\\]: (?:has \\d+ columns, expected 2 \\(original, new\\)|an empty original or new value|a value longer than \\d+ characters|a backslash or control character|a duplicate original value)",
    ].join("|") +
    ")$",
);

/** The validator's messages that quote a value, each with a value-free version. */
const VALUE_MESSAGE: ReadonlyArray<readonly [RegExp, string]> = [
  [/^unknown action /, `unknown action; expected one of ${ACTION_NAMES.join(", ")}`],
  [/^unknown PS3\.15 option /, `unknown PS3.15 option; expected one of ${OPTION_NAMES.join(", ")}`],
  [/^unknown keyword /, "unknown keyword"],
  [/^unknown profile /, "unknown profile"],
  [/^unknown tag /, "unknown tag; name its keyword too if it is newer than the dictionary"],
  [/ is not a value VR$/, "not a value VR"],
  [/ is not a tag like /, "not a tag like (0010,0010)"],
  [/ is not the keyword of /, "not the keyword of that tag"],
  [/ extends itself$/, "a profile that extends itself"],
  [/^no lookup table /, "no lookup table of that name in this profile"],
];

/**
 * A custom profile's problem without its values: the JSON path as far as it is made of the format's
 * field names and indexes, and the validator's message only when it quotes nothing from the profile
 * (or its value-free version).
 */
export function customProfileProblem(error: ProfileError): string {
  const at = error.where.indexOf("$");
  const path = at < 0 ? "" : error.where.slice(at);
  const message = error.message.slice(error.where.length + 2);
  let safe = "$";
  let previous = "";
  for (const part of path.slice(1).match(/\.[^.[]+|\[\d+\]/g) ?? []) {
    // A table's name is the profile's own word: it is not echoed.
    if (previous === ".lookupTables") safe += ".<table>";
    else if (part.startsWith("[") || FORMAT_FIELDS.has(part.slice(1))) safe += part;
    else return `invalid custom profile: ${safe} has a field that is not part of the profile format`;
    previous = part;
  }
  if (FIXED_MESSAGE.test(message)) return `invalid custom profile: ${safe}: ${message}`;
  const known = VALUE_MESSAGE.find(([re]) => re.test(message));
  return known
    ? `invalid custom profile: ${safe}: ${known[1]}`
    : `invalid custom profile: ${safe} holds a value that is not allowed there (see the profile format)`;
}
