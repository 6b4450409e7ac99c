/**
 * The tcia profile (profiles/tcia.json, data only: basic + seven PS3.15 options) against Table
 * E.1-1's option columns: every attribute an option column names gets that column's action; where
 * several of its options name one attribute, the action is one of theirs.
 */
import fs from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { ProfileRegistry } from "../../../src/profiles/registry.js";
import { REFERENCE_DIR } from "../../helpers/corpus.js";

const TCIA_OPTIONS = [
  "retainLongitudinalModifiedDates",
  "retainPatientCharacteristics",
  "retainDeviceIdentity",
  "retainSafePrivate",
  "cleanDescriptors",
  "cleanStructuredContent",
  "cleanGraphics",
] as const;

interface Row {
  tag: string;
  keyword: string;
  basic: string;
  pattern: boolean;
  options: Record<string, string | null>;
  vr?: string;
}

/**
 * What each code of the table allows. K keeps. C cleans: text is cleaned, dates shift (Modified
 * Dates), identifying names are replaced, a sequence is kept and its items cleaned by their own
 * rules; removing is stricter than cleaning and allowed (overlay bitmaps cannot be cleaned of text).
 */
function actionsFor(option: string, code: string, vr: string | undefined): string[] {
  if (code === "K") return ["keep"];
  if (code !== "C") throw new Error(`the table's option columns hold K or C, not ${code}`);
  if (option === "retainLongitudinalModifiedDates") return ["shiftDate"];
  return ["cleanText", "dummy", "remove", ...(vr === "SQ" ? ["keep"] : [])];
}

describe("the tcia profile", () => {
  const registry = ProfileRegistry.load();
  const plan = registry.get("tcia")!;
  const table = JSON.parse(
    fs.readFileSync(path.join(REFERENCE_DIR, "ps3.15-table-e1-1.json"), "utf8"),
  ) as Row[];

  it("is basic with the seven options, and marks the dates as modified", () => {
    expect(plan).toBeDefined();
    expect(plan.extends).toBe("basic");
    expect([...plan.options].sort()).toEqual([...TCIA_OPTIONS].sort());
    expect(plan.longitudinal).toBe("MODIFIED");
    const codes = plan.methodCodes.map((m) => m.code);
    // 113100 basic profile plus the CID 7050 codes of each option.
    for (const code of ["113100", "113107", "113108", "113109", "113111", "113105", "113104", "113103"])
      expect(codes).toContain(code);
  });

  it("every attribute an option column names gets that column's action", () => {
    let checked = 0;
    let conflicts = 0;
    for (const row of table) {
      if (row.pattern) continue;
      const named = TCIA_OPTIONS.filter((o) => row.options[o]);
      if (named.length === 0) continue;
      const tag = Number.parseInt(row.tag.replace(/[(),]/g, ""), 16);
      const rule = plan.exact.get(tag);
      expect(rule, row.keyword).toBeDefined();
      const allowed = named.flatMap((o) => actionsFor(o, row.options[o]!, row.vr));
      expect(allowed, `${row.keyword}: ${rule!.action}`).toContain(rule!.action);
      if (new Set(named.map((o) => row.options[o])).size > 1) conflicts++;
      checked++;
    }
    // Most of the table's option cells concern these seven options.
    expect(checked).toBeGreaterThan(200);
    expect(conflicts).toBeLessThan(checked);
  });

  it("keeps patient characteristics and device identity; cleans descriptions; shifts dates", () => {
    const action = (keyword: string) =>
      plan.exact.get(
        Number.parseInt(table.find((r) => r.keyword === keyword)!.tag.replace(/[(),]/g, ""), 16),
      )!.action;
    expect(action("PatientSex")).toBe("keep");
    expect(action("PatientAge")).toBe("keep");
    expect(action("DeviceSerialNumber")).toBe("keep");
    expect(action("StudyDescription")).toBe("cleanText");
    expect(action("StudyDate")).toBe("shiftDate");
    expect(action("PatientName")).not.toBe("keep");
    expect(action("PatientID")).not.toBe("keep");
  });

  it("shifts device dates where Retain Device Identity (K) and Modified Dates (C) disagree", () => {
    // A kept Date of Last Calibration equal to the study date gave the real date away (realworld probe).
    const disputed = table.filter(
      (r) =>
        !r.pattern &&
        r.options.retainDeviceIdentity === "K" &&
        r.options.retainLongitudinalModifiedDates === "C",
    );
    expect(disputed.length).toBeGreaterThan(5);
    for (const row of disputed) {
      const tag = Number.parseInt(row.tag.replace(/[(),]/g, ""), 16);
      expect(plan.exact.get(tag)?.action, row.keyword).toBe("shiftDate");
    }
  });
});
