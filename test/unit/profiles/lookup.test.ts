/** Lookup tables (issue 13, linkage): CSV beside the profile, hit, miss -> failure or fallback. */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { readPart10 } from "../../../src/dicom/part10.js";
import { asciiValue } from "../../../src/dicom/values.js";
import { ProfileError } from "../../../src/errors.js";
import { customProfileProblem } from "../../../src/http/profile-choice.js";
import { builtinProfileDir, ProfileRegistry } from "../../../src/profiles/registry.js";
import { instance, leaf } from "../../helpers/build.js";
import { anonymize, anonymized, REGISTRY } from "../../helpers/engine.js";

const PATIENT_NAME = 0x00100010;
const PATIENT_ID = 0x00100020;
const OTHER_PATIENT_IDS = 0x00101000;

function patient(id: string, name = "DOE^JANE", sop = "1.2.999.7"): Buffer {
  return instance([leaf(PATIENT_NAME, "PN", name), leaf(PATIENT_ID, "LO", id)], undefined, sop);
}

function valueOf(output: Buffer, tag: number): string | undefined {
  const e = readPart10(output).dataset.find((x) => x.tag === tag);
  return e ? asciiValue(e.value).trim() : undefined;
}

/** A PROFILES_DIR with one profile (`trial`, on hipaa) and its files; returns the loaded registry. */
function registryWith(profile: Record<string, unknown>, files: Record<string, string>): ProfileRegistry {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "lookup-"));
  for (const [name, text] of Object.entries(files)) fs.writeFileSync(path.join(dir, name), text);
  fs.writeFileSync(
    path.join(dir, "trial.json"),
    JSON.stringify({ name: "trial", description: "t", version: "1", extends: "hipaa", ...profile }),
  );
  return ProfileRegistry.load([builtinProfileDir(), dir]);
}

const SUBJECTS = 'original,new\nMRN-001,TRIAL-0001\n"MRN-002",TRIAL-0002\r\n';

function trial(rules: unknown[], csv = SUBJECTS) {
  return registryWith(
    { lookupTables: { subjects: { file: "subjects.csv" } }, rules },
    { "subjects.csv": csv },
  ).get("trial")!;
}

function loadError(profile: Record<string, unknown>, files: Record<string, string>): ProfileError {
  try {
    registryWith(profile, files);
  } catch (error) {
    expect(error).toBeInstanceOf(ProfileError);
    return error as ProfileError;
  }
  throw new Error("expected a ProfileError");
}

describe("lookup tables", () => {
  it("a hit replaces the Patient ID with the trial subject ID", () => {
    const plan = trial([
      { keyword: "PatientID", action: "replace", value: "X", lookup: { table: "subjects" } },
    ]);
    const out = anonymized(patient("MRN-002"), plan);
    expect(valueOf(out.output, PATIENT_ID)).toBe("TRIAL-0002");
    expect(out.output.includes(Buffer.from("MRN-002"))).toBe(false);
  });

  it("a miss fails the instance by default, naming the tag and the table, never the key", () => {
    const plan = trial([{ keyword: "PatientID", action: "pseudonym", lookup: { table: "subjects" } }]);
    const outcome = anonymize(patient("MRN-404"), plan);
    expect(outcome.status).toBe("failed");
    if (outcome.status !== "failed") return;
    expect(outcome.reason).toContain("(0010,0020)");
    expect(outcome.reason).toContain("lookup table subjects");
    expect(outcome.reason).not.toContain("MRN-404");
  });

  it("a miss falls back to a pseudonym, or to the rule's own action, as the rule says", () => {
    const pseudo = trial([
      {
        keyword: "PatientID",
        action: "replace",
        value: "UNKNOWN",
        lookup: { table: "subjects", onMissing: "pseudonym" },
      },
    ]);
    const out = anonymized(patient("MRN-404"), pseudo);
    const id = valueOf(out.output, PATIENT_ID)!;
    expect(id).toMatch(/^[0-9A-F]{12}$/);
    expect(out.changes.find((c) => c.tag === "00100020")?.reason).toBe(
      "not in lookup table subjects: pseudonym",
    );
    const ruleDefault = trial([
      {
        keyword: "PatientID",
        action: "replace",
        value: "UNKNOWN",
        lookup: { table: "subjects", onMissing: "keep-rule-default" },
      },
    ]);
    expect(valueOf(anonymized(patient("MRN-404"), ruleDefault).output, PATIENT_ID)).toBe("UNKNOWN");
    // A hit still comes from the table under either fallback.
    expect(valueOf(anonymized(patient("MRN-001"), ruleDefault).output, PATIENT_ID)).toBe("TRIAL-0001");
  });

  it("the key can be another attribute's original value (Patient Name from Patient ID)", () => {
    const plan = trial([
      { keyword: "PatientID", action: "replace", value: "X", lookup: { table: "subjects" } },
      {
        keyword: "PatientName",
        action: "replace",
        value: "X",
        lookup: { table: "subjects", key: "PatientID" },
      },
      {
        keyword: "OtherPatientIDs",
        action: "replace",
        value: "X",
        lookup: { table: "subjects", key: "PatientID" },
      },
    ]);
    const input = instance([
      leaf(PATIENT_NAME, "PN", "DOE^JANE"),
      leaf(PATIENT_ID, "LO", "MRN-001"),
      leaf(OTHER_PATIENT_IDS, "LO", "OLD-77"),
    ]);
    const out = anonymized(input, plan);
    expect(valueOf(out.output, PATIENT_NAME)).toBe("TRIAL-0001");
    expect(valueOf(out.output, PATIENT_ID)).toBe("TRIAL-0001");
    expect(valueOf(out.output, OTHER_PATIENT_IDS)).toBe("TRIAL-0001");
  });

  it("every instance of a patient gets the same subject ID; other patients get theirs", () => {
    const plan = trial([
      { keyword: "PatientID", action: "replace", value: "X", lookup: { table: "subjects" } },
    ]);
    const ids = ["1.2.999.1", "1.2.999.2", "1.2.999.3"].map((sop) =>
      valueOf(anonymized(patient("MRN-001", "DOE^JANE", sop), plan).output, PATIENT_ID),
    );
    expect(new Set(ids)).toEqual(new Set(["TRIAL-0001"]));
    expect(valueOf(anonymized(patient("MRN-002", "ROE^RICHARD"), plan).output, PATIENT_ID)).toBe(
      "TRIAL-0002",
    );
  });

  it("GET /profiles/{name}'s compiled rules never carry the table's rows", () => {
    const plan = trial([
      { keyword: "PatientID", action: "replace", value: "X", lookup: { table: "subjects" } },
    ]);
    const rule = plan.exact.get(PATIENT_ID)!;
    expect(rule.lookup).toEqual({ table: "subjects" });
    expect(JSON.stringify(rule)).not.toContain("MRN-001");
  });
});

describe("lookup tables are checked when the profile loads", () => {
  const rules = [{ keyword: "PatientID", action: "replace", value: "X", lookup: { table: "subjects" } }];
  const withCsv = (csv: string) =>
    loadError({ lookupTables: { subjects: { file: "subjects.csv" } }, rules }, { "subjects.csv": csv });
  const cases: Array<[string, string, RegExp]> = [
    ["an empty file", "", /is empty: expected a header row/],
    ["three columns in the header", "a,b,c\nx,y,z\n", /line 1 \(header\): has 3 columns/],
    ["a row with one column", "original,new\nMRN-001\n", /data row 1: has 1 columns, expected 2/],
    ["a duplicate key", "original,new\nMRN-001,A\nMRN-001,B\n", /data row 2: a duplicate original value/],
    ["an empty new value", "original,new\nMRN-001,\n", /data row 1: an empty original or new value/],
    ["an unclosed quote", 'original,new\n"MRN-001,A\n', /a quoted field is not closed/],
    ["a value too long for LO", `original,new\nMRN-001,${"A".repeat(65)}\n`, /longer than 64/],
  ];
  for (const [name, csv, message] of cases) {
    it(`refuses ${name}, naming the file and the JSON path, never a value`, () => {
      const error = withCsv(csv);
      expect(error.message).toMatch(/trial\.json: \$\.lookupTables\.subjects\.file/);
      expect(error.message).toMatch(/subjects\.csv/);
      expect(error.message).toMatch(message);
      expect(error.message).not.toContain("MRN-001");
    });
  }

  it("refuses a missing file, a path outside the profile's directory, and an unknown table", () => {
    expect(loadError({ lookupTables: { subjects: { file: "nope.csv" } }, rules }, {}).message).toMatch(
      /\$\.lookupTables\.subjects\.file: nope\.csv cannot be read \(ENOENT\)/,
    );
    for (const file of ["../etc/passwd", "/etc/passwd"])
      expect(loadError({ lookupTables: { subjects: { file } }, rules }, {}).message).toMatch(
        /must be a file name relative to the profile's directory/,
      );
    expect(loadError({ lookupTables: { other: { rows: [["a", "b"]] } }, rules }, {}).message).toMatch(
      /\$\.rules\[0\]\.lookup\.table: no lookup table "subjects" in this profile/,
    );
  });

  it("refuses a lookup on an action other than replace or pseudonym, and an unknown key keyword", () => {
    const tables = { subjects: { rows: [["a", "b"]] } };
    expect(
      loadError(
        {
          lookupTables: tables,
          rules: [{ keyword: "PatientID", action: "keep", lookup: { table: "subjects" } }],
        },
        {},
      ).message,
    ).toMatch(/\$\.rules\[0\]\.lookup: only "replace" and "pseudonym" take a lookup/);
    expect(
      loadError(
        {
          lookupTables: tables,
          rules: [{ keyword: "PatientID", action: "pseudonym", lookup: { table: "subjects", key: "Nope" } }],
        },
        {},
      ).message,
    ).toMatch(/\$\.rules\[0\]\.lookup\.key: unknown keyword/);
  });

  it("a profile sent with a request has inline rows only, never a file", () => {
    const base = { name: "c", description: "c", version: "1", extends: "hipaa" };
    expect(() =>
      REGISTRY.compileCustom({ ...base, lookupTables: { subjects: { file: "/etc/passwd" } }, rules }),
    ).toThrow(/\$\.lookupTables\.subjects\.file: a profile sent with a request can only have inline rows/);
    const plan = REGISTRY.compileCustom({
      ...base,
      lookupTables: { subjects: { rows: [["MRN-001", "TRIAL-0001"]] } },
      rules,
    });
    expect(valueOf(anonymized(patient("MRN-001"), plan).output, PATIENT_ID)).toBe("TRIAL-0001");
    expect(() =>
      REGISTRY.compileCustom({
        ...base,
        lookupTables: {
          subjects: {
            rows: [
              ["MRN-001", "A"],
              ["MRN-001", "B"],
            ],
          },
        },
        rules,
      }),
    ).toThrow(/\$\.lookupTables\.subjects\.rows: rows\[1\]: a duplicate original value/);
  });

  it("a request's problem names neither the table nor a value", () => {
    let problem = "";
    try {
      REGISTRY.compileCustom({
        name: "c",
        description: "c",
        version: "1",
        extends: "hipaa",
        lookupTables: {
          "MRN-001-table": {
            rows: [
              ["MRN-001", "A"],
              ["MRN-001", "B"],
            ],
          },
        },
        rules: [],
      });
    } catch (error) {
      problem = customProfileProblem(error as ProfileError);
    }
    expect(problem).toBe(
      "invalid custom profile: $.lookupTables.<table>.rows: rows[1]: a duplicate original value",
    );
  });
});
