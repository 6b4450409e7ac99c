/**
 * Validation of profile files. Every problem names the file and the JSON path, and the first one
 * stops loading (so a bad profile stops start-up).
 */
import fs from "node:fs";
import path from "node:path";
import { ProfileError } from "../errors.js";
import { addDictionaryEntry, lookupTag, tagOfKeyword } from "../dicom/dictionary.js";
import { groupOf, isPrivateGroup, parseTag } from "../dicom/tag.js";
import { KNOWN_VRS } from "../dicom/vr.js";
import { checkRows, LOOKUP_MAX_FILE_BYTES, parseLookupCsv } from "./lookup.js";
import {
  ACTION_NAMES,
  LOOKUP_ON_MISSING,
  OPTION_NAMES,
  type LookupTableSpec,
  type RuleLookup,
  type ActionName,
  type OptionName,
  type ProfileFile,
  type ProfilePixelBlock,
  type ProfileRule,
  type RuleAction,
} from "./types.js";

const NAME = /^[a-z0-9][a-z0-9._-]{0,63}$/i;
const PATTERN = /^\(([0-9a-fx]{4}),([0-9a-fx]{4})\)$/i;

type Json = unknown;

class Checker {
  constructor(
    readonly file: string,
    /** Profile files on disk may teach the dictionary a newer keyword; a request's profile may not. */
    readonly extendsDictionary: boolean,
    /** The profile file's directory (lookup table files are relative to it); none for a request's profile. */
    readonly baseDir?: string,
  ) {}

  /** Table names that rules name in their `lookup`, with the rule's path, checked after the rules. */
  readonly lookups: Array<{ table: string; path: string }> = [];

  fail(path: string, message: string): never {
    throw new ProfileError(`${this.file}: ${path}`, message);
  }

  object(value: Json, path: string): Record<string, Json> {
    if (typeof value !== "object" || value === null || Array.isArray(value))
      this.fail(path, "must be an object");
    return value as Record<string, Json>;
  }

  array(value: Json, path: string): Json[] {
    if (!Array.isArray(value)) this.fail(path, "must be an array");
    return value as Json[];
  }

  string(value: Json, path: string): string {
    if (typeof value !== "string") this.fail(path, "must be a string");
    return value;
  }

  onlyKeys(obj: Record<string, Json>, allowed: readonly string[], path: string): void {
    for (const key of Object.keys(obj))
      if (!allowed.includes(key)) this.fail(`${path}.${key}`, "is not a known field");
  }

  action(value: Json, path: string): ActionName {
    if (typeof value !== "string" || !(ACTION_NAMES as readonly string[]).includes(value)) {
      this.fail(path, `unknown action ${JSON.stringify(value)}; expected one of ${ACTION_NAMES.join(", ")}`);
    }
    return value as ActionName;
  }

  option(value: Json, path: string): OptionName {
    if (typeof value !== "string" || !(OPTION_NAMES as readonly string[]).includes(value)) {
      this.fail(
        path,
        `unknown PS3.15 option ${JSON.stringify(value)}; expected one of ${OPTION_NAMES.join(", ")}`,
      );
    }
    return value as OptionName;
  }

  ruleAction(obj: Record<string, Json>, path: string): RuleAction {
    const action = this.action(obj.action, `${path}.action`);
    const out: { -readonly [K in keyof RuleAction]: RuleAction[K] } = { action };
    if (action === "replace") out.value = this.string(obj.value, `${path}.value`);
    else if (obj.value !== undefined) this.fail(`${path}.value`, `only "replace" takes a value`);
    if (obj.maxYears !== undefined) {
      if (
        action !== "capAge" ||
        !Number.isInteger(obj.maxYears) ||
        (obj.maxYears as number) < 0 ||
        (obj.maxYears as number) > 999
      ) {
        this.fail(`${path}.maxYears`, "must be an integer 0-999 on a capAge rule");
      }
      out.maxYears = obj.maxYears as number;
    }
    if (obj.maxDays !== undefined) {
      if (action !== "shiftDate" || !Number.isInteger(obj.maxDays) || (obj.maxDays as number) < 1) {
        this.fail(`${path}.maxDays`, "must be a positive integer on a shiftDate rule");
      }
      out.maxDays = obj.maxDays as number;
    }
    for (const key of ["prefix", "fallback"] as const) {
      if (obj[key] === undefined) continue;
      if (action !== "pseudonym") this.fail(`${path}.${key}`, `only "pseudonym" takes ${key}`);
      out[key] = this.string(obj[key], `${path}.${key}`);
    }
    if (obj.lookup !== undefined) {
      if (action !== "replace" && action !== "pseudonym")
        this.fail(`${path}.lookup`, 'only "replace" and "pseudonym" take a lookup');
      out.lookup = this.lookup(obj.lookup, `${path}.lookup`);
    }
    return out;
  }

  lookup(value: Json, path: string): RuleLookup {
    const o = this.object(value, path);
    this.onlyKeys(o, ["table", "key", "onMissing"], path);
    const table = this.string(o.table, `${path}.table`);
    this.lookups.push({ table, path: `${path}.table` });
    const out: { -readonly [K in keyof RuleLookup]: RuleLookup[K] } = { table };
    if (o.key !== undefined) {
      const key = this.string(o.key, `${path}.key`);
      const tag = tagOfKeyword(key);
      if (tag === undefined) this.fail(`${path}.key`, `unknown keyword ${JSON.stringify(key)}`);
      if (isPrivateGroup(groupOf(tag))) this.fail(`${path}.key`, "must name a public attribute");
      out.key = key;
    }
    if (o.onMissing !== undefined) {
      if (!(LOOKUP_ON_MISSING as readonly unknown[]).includes(o.onMissing))
        this.fail(`${path}.onMissing`, `must be one of ${LOOKUP_ON_MISSING.join(", ")}`);
      out.onMissing = o.onMissing as RuleLookup["onMissing"];
    }
    return out;
  }

  /** `lookupTables`: each table read (file) or checked (inline rows) now, so a bad one stops loading. */
  lookupTables(value: Json): Record<string, LookupTableSpec> {
    const tables = this.object(value, "$.lookupTables");
    const out: Record<string, LookupTableSpec> = {};
    for (const [name, spec] of Object.entries(tables)) {
      const path = `$.lookupTables.${name}`;
      if (!NAME.test(name)) this.fail(path, "a table name must be 1-64 letters, digits, '.', '_' or '-'");
      const o = this.object(spec, path);
      this.onlyKeys(o, ["file", "rows", "note"], path);
      if ((o.file === undefined) === (o.rows === undefined)) this.fail(path, "needs either file or rows");
      if (o.rows !== undefined) {
        const rows = this.array(o.rows, `${path}.rows`).map((r, i) =>
          this.array(r, `${path}.rows[${i}]`).map((cell, k) => this.string(cell, `${path}.rows[${i}][${k}]`)),
        );
        out[name] = {
          rows: checkRows(
            rows,
            (i) => `rows[${i}]`,
            (message) => this.fail(`${path}.rows`, message),
          ),
        };
        continue;
      }
      const filePath = `${path}.file`;
      const file = this.string(o.file, filePath);
      // A profile sent with a request must not make the server read its files.
      if (this.baseDir === undefined)
        this.fail(filePath, "a profile sent with a request can only have inline rows, not files");
      if (file === "" || pathIsOutside(this.baseDir, file))
        this.fail(filePath, "must be a file name relative to the profile's directory, inside it");
      const full = pathJoin(this.baseDir, file);
      let text: string;
      try {
        const stat = fs.statSync(full);
        if (!stat.isFile()) this.fail(filePath, `${file} is not a file`);
        if (stat.size > LOOKUP_MAX_FILE_BYTES)
          this.fail(filePath, `${file} is larger than ${LOOKUP_MAX_FILE_BYTES} bytes`);
        text = fs.readFileSync(full, "utf8");
      } catch (error) {
        if (error instanceof ProfileError) throw error;
        this.fail(filePath, `${file} cannot be read (${(error as NodeJS.ErrnoException).code ?? "error"})`);
      }
      out[name] = { rows: parseLookupCsv(text, (message) => this.fail(filePath, `${file} ${message}`)) };
    }
    return out;
  }

  rule(value: Json, path: string): ProfileRule {
    const obj = this.object(value, path);
    this.onlyKeys(
      obj,
      [
        "tag",
        "keyword",
        "vr",
        "pattern",
        "privateCreator",
        "group",
        "element",
        "action",
        "value",
        "maxYears",
        "prefix",
        "fallback",
        "maxDays",
        "lookup",
        "options",
        "note",
      ],
      path,
    );
    const selectors = ["tag", "keyword", "vr", "pattern", "privateCreator"].filter(
      (k) => obj[k] !== undefined,
    );
    if (selectors.length === 0) this.fail(path, "needs one of tag, keyword, vr, pattern or privateCreator");
    if (
      selectors.length > 1 &&
      !(selectors.length === 2 && obj.tag !== undefined && obj.keyword !== undefined)
    ) {
      this.fail(path, `has more than one selector (${selectors.join(", ")})`);
    }
    const rule: Record<string, unknown> = { ...this.ruleAction(obj, path) };
    if (obj.tag !== undefined) rule.tag = this.tag(obj.tag, obj.keyword, path);
    if (obj.keyword !== undefined) {
      rule.keyword = this.string(obj.keyword, `${path}.keyword`);
      if (obj.tag === undefined && tagOfKeyword(rule.keyword as string) === undefined) {
        this.fail(`${path}.keyword`, `unknown keyword ${JSON.stringify(obj.keyword)}`);
      }
    }
    if (obj.vr !== undefined) {
      const vrs = typeof obj.vr === "string" ? [obj.vr] : this.array(obj.vr, `${path}.vr`);
      rule.vr = vrs.map((v, i) => {
        const vr = this.string(v, `${path}.vr[${i}]`);
        if (!KNOWN_VRS.has(vr) || vr === "SQ")
          this.fail(`${path}.vr[${i}]`, `${JSON.stringify(vr)} is not a value VR`);
        return vr;
      });
    }
    if (obj.pattern !== undefined) {
      const pattern = this.string(obj.pattern, `${path}.pattern`);
      if (!PATTERN.test(pattern)) this.fail(`${path}.pattern`, "must look like (60xx,3000): hex digits or x");
      rule.pattern = pattern.toUpperCase().replace(/X/g, "x");
    }
    if (obj.privateCreator !== undefined) {
      rule.privateCreator = this.string(obj.privateCreator, `${path}.privateCreator`);
      if (obj.group !== undefined) {
        const group = this.string(obj.group, `${path}.group`);
        if (!/^[0-9a-f]{4}$/i.test(group) || !isPrivateGroup(parseInt(group, 16))) {
          this.fail(`${path}.group`, "must be an odd (private) group in 4 hex digits");
        }
        rule.group = group.toUpperCase();
      }
      if (obj.element !== undefined) {
        const element = this.string(obj.element, `${path}.element`);
        const m = /^(?:xx)?([0-9a-f]{2})$/i.exec(element);
        if (!m) this.fail(`${path}.element`, "must be the element in the block: 10 or xx10");
        rule.element = m[1]!.toUpperCase();
      }
    } else if (obj.group !== undefined || obj.element !== undefined) {
      this.fail(path, "group and element go with privateCreator");
    }
    if (obj.options !== undefined) {
      const options = this.object(obj.options, `${path}.options`);
      const out: Record<string, RuleAction> = {};
      for (const [name, spec] of Object.entries(options)) {
        const optionPath = `${path}.options.${name}`;
        this.option(name, optionPath);
        out[name] =
          typeof spec === "string"
            ? { action: this.action(spec, optionPath) }
            : this.ruleAction(this.object(spec, optionPath), optionPath);
      }
      rule.options = out;
    }
    if (obj.note !== undefined) rule.note = this.string(obj.note, `${path}.note`);
    return rule as unknown as ProfileRule;
  }

  tag(value: Json, keyword: Json, path: string): string {
    const text = this.string(value, `${path}.tag`);
    const tag = parseTag(text);
    if (tag === undefined) this.fail(`${path}.tag`, `${JSON.stringify(text)} is not a tag like (0010,0010)`);
    if (!isPrivateGroup(groupOf(tag)) && !lookupTag(tag)) {
      // Attributes newer than the dictionary are accepted when the rule also names their keyword.
      if (typeof keyword !== "string" || !/^[A-Za-z][A-Za-z0-9]*$/.test(keyword)) {
        this.fail(
          `${path}.tag`,
          `unknown tag ${text}; name its keyword too if it is newer than the dictionary`,
        );
      }
      // A profile sent with a request must not change what later requests see (or grow the
      // dictionary without bound): its rule names the tag, which is all the plan needs.
      if (this.extendsDictionary) addDictionaryEntry(tag, null, keyword);
    } else if (
      typeof keyword === "string" &&
      lookupTag(tag)?.keyword !== keyword &&
      tagOfKeyword(keyword) !== undefined
    ) {
      this.fail(`${path}.keyword`, `${keyword} is not the keyword of ${text}`);
    }
    return text;
  }
}

/** Checks a parsed profile file (either format) and returns it typed. */
export function validateProfile(
  json: Json,
  file: string,
  fallbackName: string,
  { fromRequest = false, baseDir }: { fromRequest?: boolean; baseDir?: string } = {},
): ProfileFile {
  const c = new Checker(file, !fromRequest, fromRequest ? undefined : baseDir);
  if (Array.isArray(json)) return seedExport(json, c, fallbackName);
  const obj = c.object(json, "$");
  c.onlyKeys(
    obj,
    [
      "$schema",
      "name",
      "description",
      "version",
      "extends",
      "options",
      "defaults",
      "methodCodes",
      "edition",
      "burnedInAnnotation",
      "pixel",
      "lookupTables",
      "rules",
    ],
    "$",
  );
  const name = c.string(obj.name, "$.name");
  if (!NAME.test(name)) c.fail("$.name", "must be 1-64 letters, digits, '.', '_' or '-'");
  const profile: Record<string, unknown> = {
    name,
    description: c.string(obj.description, "$.description"),
    version: c.string(obj.version, "$.version"),
  };
  if (obj.extends !== undefined) profile.extends = c.string(obj.extends, "$.extends");
  if (obj.edition !== undefined) profile.edition = c.string(obj.edition, "$.edition");
  if (obj.burnedInAnnotation !== undefined) {
    if (obj.burnedInAnnotation !== "reject" && obj.burnedInAnnotation !== "allow") {
      c.fail("$.burnedInAnnotation", 'must be "reject" or "allow"');
    }
    profile.burnedInAnnotation = obj.burnedInAnnotation;
  }
  if (obj.options !== undefined) {
    profile.options = c.array(obj.options, "$.options").map((o, i) => c.option(o, `$.options[${i}]`));
  }
  if (obj.defaults !== undefined) {
    const d = c.object(obj.defaults, "$.defaults");
    c.onlyKeys(d, ["private", "unlisted", "unknown"], "$.defaults");
    profile.defaults = {
      ...(d.private !== undefined ? { private: c.action(d.private, "$.defaults.private") } : {}),
      ...(d.unlisted !== undefined ? { unlisted: c.action(d.unlisted, "$.defaults.unlisted") } : {}),
      ...(d.unknown !== undefined ? { unknown: c.action(d.unknown, "$.defaults.unknown") } : {}),
    };
  }
  if (obj.methodCodes !== undefined) {
    profile.methodCodes = c.array(obj.methodCodes, "$.methodCodes").map((m, i) => {
      const o = c.object(m, `$.methodCodes[${i}]`);
      return {
        code: c.string(o.code, `$.methodCodes[${i}].code`),
        meaning: c.string(o.meaning, `$.methodCodes[${i}].meaning`),
      };
    });
  }
  if (obj.pixel !== undefined) profile.pixel = validatePixel(c, obj.pixel);
  const tables = obj.lookupTables !== undefined ? c.lookupTables(obj.lookupTables) : {};
  if (obj.lookupTables !== undefined) profile.lookupTables = tables;
  profile.rules = c.array(obj.rules, "$.rules").map((r, i) => c.rule(r, `$.rules[${i}]`));
  // A rule's table is one of its own profile's: a table is where the profile file is.
  for (const { table, path } of c.lookups)
    if (!Object.hasOwn(tables, table))
      c.fail(path, `no lookup table ${JSON.stringify(table)} in this profile`);
  return profile as unknown as ProfileFile;
}

/**
 * The seed app's custom-profile export: `[{id: "(0008,103E)", act: "keep" | "remove"}]`. It is read as
 * overrides on top of `basic`, so a tag the user did not list still gets the standard's treatment.
 */
function seedExport(json: Json[], c: Checker, name: string): ProfileFile {
  const rules = json.map((entry, i) => {
    const o = c.object(entry, `$[${i}]`);
    c.onlyKeys(o, ["id", "act"], `$[${i}]`);
    const id = c.string(o.id, `$[${i}].id`);
    const tag = parseTag(id);
    if (tag === undefined) c.fail(`$[${i}].id`, `${JSON.stringify(id)} is not a tag like (0008,103E)`);
    if (o.act !== "keep" && o.act !== "remove") c.fail(`$[${i}].act`, 'must be "keep" or "remove"');
    const tagText = c.tag(id, undefined, `$[${i}]`);
    return { tag: tagText, action: o.act as ActionName };
  });
  if (!NAME.test(name)) c.fail("$", `file name gives an invalid profile name ${JSON.stringify(name)}`);
  return {
    name,
    description: "Custom profile (seed app export) on top of basic",
    version: "1",
    extends: "basic",
    rules,
  };
}

/** `file` leaves `dir` (an absolute path, `..`): a profile reads tables beside it only. */
function pathIsOutside(dir: string, file: string): boolean {
  if (path.isAbsolute(file)) return true;
  const relative = path.relative(dir, path.resolve(dir, file));
  return relative === "" || relative.startsWith("..") || path.isAbsolute(relative);
}

function pathJoin(dir: string, file: string): string {
  return path.resolve(dir, file);
}

const UID = /^[0-9]+(\.[0-9]+)*$/;

function uint(c: Checker, value: Json, path: string, min: number, max: number): number {
  if (!Number.isInteger(value) || (value as number) < min || (value as number) > max)
    c.fail(path, `must be an integer ${min}-${max}`);
  return value as number;
}

function stringList(c: Checker, value: Json, path: string, check?: (s: string) => boolean): string[] {
  return c.array(value, path).map((v, i) => {
    const s = c.string(v, `${path}[${i}]`);
    if (s === "" || (check && !check(s))) c.fail(`${path}[${i}]`, "is not a valid value");
    return s;
  });
}

/** The `pixel` block (Clean Pixel Data): scope, templates checked against their frame size. */
function validatePixel(c: Checker, value: Json): ProfilePixelBlock {
  const o = c.object(value, "$.pixel");
  c.onlyKeys(
    o,
    ["detector", "recheck", "padding", "scope", "unmatched", "templates", "lossy", "note"],
    "$.pixel",
  );
  const out: { -readonly [K in keyof ProfilePixelBlock]: ProfilePixelBlock[K] } = {};
  if (o.detector !== undefined) {
    if (typeof o.detector !== "boolean") c.fail("$.pixel.detector", "must be true or false");
    out.detector = o.detector;
  }
  if (o.recheck !== undefined) {
    if (o.recheck !== "boxes" && o.recheck !== "frame")
      c.fail("$.pixel.recheck", 'must be "boxes" or "frame"');
    out.recheck = o.recheck;
  }
  if (o.padding !== undefined) out.padding = uint(c, o.padding, "$.pixel.padding", 0, 64);
  if (o.unmatched !== undefined) {
    if (o.unmatched !== "reject" && o.unmatched !== "pass")
      c.fail("$.pixel.unmatched", 'must be "reject" or "pass"');
    out.unmatched = o.unmatched;
  }
  if (o.lossy !== undefined) {
    if (o.lossy !== "transcode" && o.lossy !== "refuse")
      c.fail("$.pixel.lossy", 'must be "transcode" or "refuse"');
    out.lossy = o.lossy;
  }
  if (o.scope !== undefined) {
    const s = c.object(o.scope, "$.pixel.scope");
    c.onlyKeys(s, ["modalities", "sopClasses", "burnedInAnnotationYes"], "$.pixel.scope");
    out.scope = {
      ...(s.modalities !== undefined
        ? {
            modalities: stringList(c, s.modalities, "$.pixel.scope.modalities", (m) =>
              /^[A-Z0-9_ ]{1,16}$/.test(m),
            ),
          }
        : {}),
      ...(s.sopClasses !== undefined
        ? {
            sopClasses: stringList(
              c,
              s.sopClasses,
              "$.pixel.scope.sopClasses",
              (u) => UID.test(u) && u.length <= 64,
            ),
          }
        : {}),
      ...(s.burnedInAnnotationYes !== undefined
        ? {
            burnedInAnnotationYes:
              typeof s.burnedInAnnotationYes === "boolean"
                ? s.burnedInAnnotationYes
                : c.fail("$.pixel.scope.burnedInAnnotationYes", "must be true or false"),
          }
        : {}),
    };
  }
  if (o.templates !== undefined) {
    out.templates = c.array(o.templates, "$.pixel.templates").map((t, i) => {
      const path = `$.pixel.templates[${i}]`;
      const tpl = c.object(t, path);
      c.onlyKeys(
        tpl,
        ["manufacturer", "model", "rows", "columns", "softwareVersionPrefix", "boxes", "note"],
        path,
      );
      const manufacturer = c.string(tpl.manufacturer, `${path}.manufacturer`);
      if (manufacturer === "") c.fail(`${path}.manufacturer`, "must not be empty");
      const model = c.string(tpl.model, `${path}.model`);
      const rows = uint(c, tpl.rows, `${path}.rows`, 1, 65535);
      const columns = uint(c, tpl.columns, `${path}.columns`, 1, 65535);
      const boxes = c.array(tpl.boxes, `${path}.boxes`).map((b, j) => {
        const bp = `${path}.boxes[${j}]`;
        const r = c.array(b, bp);
        if (r.length !== 4) c.fail(bp, "must be [x, y, width, height]");
        const [x, y, w, h] = r.map((n, k) => uint(c, n, `${bp}[${k}]`, 0, 65535));
        if (w! < 1 || h! < 1) c.fail(bp, "width and height must be at least 1");
        if (x! + w! > columns || y! + h! > rows) c.fail(bp, `lies outside the ${columns}x${rows} frame`);
        return [x!, y!, w!, h!] as const;
      });
      if (boxes.length === 0) c.fail(`${path}.boxes`, "must list at least one box");
      return {
        manufacturer,
        model,
        rows,
        columns,
        ...(tpl.softwareVersionPrefix !== undefined
          ? { softwareVersionPrefix: c.string(tpl.softwareVersionPrefix, `${path}.softwareVersionPrefix`) }
          : {}),
        boxes,
        ...(tpl.note !== undefined ? { note: c.string(tpl.note, `${path}.note`) } : {}),
      };
    });
  }
  return out;
}
