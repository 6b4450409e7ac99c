import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { generateBasicProfile, serializeProfile } from "../../../scripts/generate-basic-profile.js";
import { ProfileError } from "../../../src/errors.js";
import { builtinProfileDir, ProfileRegistry } from "../../../src/profiles/registry.js";
import { validateProfile } from "../../../src/profiles/validate.js";
import { lookupTag, tagOfKeyword } from "../../../src/dicom/dictionary.js";
import { REFERENCE_DIR } from "../../helpers/corpus.js";

function errorOf(json: unknown, file = "x.json"): string {
  try {
    validateProfile(json, file, "x");
  } catch (error) {
    expect(error).toBeInstanceOf(ProfileError);
    return (error as Error).message;
  }
  throw new Error("expected a ProfileError");
}

const ok = { name: "p", description: "d", version: "1" };

describe("profile files", () => {
  it("every shipped profile loads and compiles", () => {
    const registry = ProfileRegistry.load();
    expect(registry.names().sort()).toEqual(["basic", "hipaa", "pixel", "tcia"]);
    for (const summary of registry.list()) expect(summary.ruleCount).toBeGreaterThan(0);
    expect(registry.list().find((p) => p.name === "hipaa")).toMatchObject({
      extends: "basic",
      options: ["cleanDescriptors", "retainPatientCharacteristics"],
    });
    expect(registry.list().find((p) => p.name === "pixel")).toMatchObject({ extends: "hipaa" });
  });

  it("profiles/basic.json is exactly what the generator makes from the reference tables", () => {
    const read = (f: string) => JSON.parse(fs.readFileSync(path.join(REFERENCE_DIR, f), "utf8"));
    const generated = serializeProfile(
      generateBasicProfile(read("ps3.15-table-e1-1.json"), read("ps3.15-safe-private.json")),
    );
    expect(fs.readFileSync(path.join(builtinProfileDir(), "basic.json"), "utf8")).toBe(generated);
  });

  it.each([
    [
      { ...ok, rules: [{ keyword: "PatientNme", action: "remove" }] },
      'x.json: $.rules[0].keyword: unknown keyword "PatientNme"',
    ],
    [
      { ...ok, rules: [{ tag: "(0010,00ZZ)", action: "remove" }] },
      'x.json: $.rules[0].tag: "(0010,00ZZ)" is not a tag',
    ],
    [
      { ...ok, rules: [{ tag: "(0010,9999)", action: "remove" }] },
      "x.json: $.rules[0].tag: unknown tag (0010,9999)",
    ],
    [
      { ...ok, rules: [{ tag: "(0010,0010)", action: "obliterate" }] },
      'x.json: $.rules[0].action: unknown action "obliterate"',
    ],
    [
      { ...ok, rules: [{ tag: "(0010,0010)", action: "replace" }] },
      "x.json: $.rules[0].value: must be a string",
    ],
    [
      { ...ok, rules: [{ tag: "(0010,0010)", keyword: "PatientID", action: "keep" }] },
      "x.json: $.rules[0].keyword: PatientID is not the keyword of (0010,0010)",
    ],
    [{ ...ok, options: ["retainEverything"], rules: [] }, "x.json: $.options[0]: unknown PS3.15 option"],
    [{ ...ok, rules: [{ action: "keep" }] }, "x.json: $.rules[0]: needs one of"],
    [
      { ...ok, rules: [{ tag: "(0010,0010)", action: "keep", colour: "red" }] },
      "x.json: $.rules[0].colour: is not a known field",
    ],
    [{ ...ok, defaults: { private: "shred" }, rules: [] }, "x.json: $.defaults.private: unknown action"],
    [
      { ...ok, rules: [{ privateCreator: "ACME", group: "0010", action: "keep" }] },
      "x.json: $.rules[0].group: must be an odd",
    ],
    [[{ id: "(0008,103E)", act: "shred" }], 'x.json: $[0].act: must be "keep" or "remove"'],
    [[{ id: "nonsense", act: "keep" }], 'x.json: $[0].id: "nonsense" is not a tag'],
  ])("rejects %j naming the file and JSON path", (json, message) => {
    expect(errorOf(json)).toContain(message);
  });

  it("accepts the seed app's custom-profile export, in all three id spellings, on top of basic", () => {
    const profile = validateProfile(
      [
        { id: "(0008,103E)", act: "keep" },
        { id: "(0008,1030)", act: "keep" },
        { id: "00100010", act: "remove" },
        { id: "(0008,103e)", act: "keep" },
      ],
      "seed.json",
      "my-seed",
    );
    expect(profile).toMatchObject({ name: "my-seed", extends: "basic" });
    const plan = ProfileRegistry.load().compileCustom(
      [
        { id: "(0008,103E)", act: "keep" },
        { id: "0008103e", act: "keep" },
      ],
      "seed",
    );
    expect(plan.exact.get(0x0008103e)?.action).toBe("keep");
    expect(plan.exact.get(0x00100010)?.action).toBe("empty"); // not listed: basic's rule
  });

  it("a profile sent with a request keeps its rule for a tag newer than the dictionary, but teaches the dictionary nothing", () => {
    const tag = 0x00209991;
    const plan = ProfileRegistry.load().compileCustom({
      name: "newer",
      description: "",
      version: "1",
      extends: "hipaa",
      rules: [{ tag: "(0020,9991)", keyword: "SomethingNewer", action: "keep" }],
    });
    expect(plan.exact.get(tag)?.action).toBe("keep");
    // Later requests (any profile) still see the tag as unknown, and the dictionary did not grow.
    expect(lookupTag(tag)).toBeUndefined();
    expect(tagOfKeyword("SomethingNewer")).toBeUndefined();
  });

  it("a bad file in the profiles directory stops loading with its name", () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "profiles-"));
    fs.writeFileSync(
      path.join(dir, "broken.json"),
      JSON.stringify({ ...ok, name: "broken", rules: [{ keyword: "Nope", action: "keep" }] }),
    );
    expect(() => ProfileRegistry.load([builtinProfileDir(), dir])).toThrow(
      `${path.join(dir, "broken.json")}: $.rules[0].keyword`,
    );
    fs.writeFileSync(path.join(dir, "broken.json"), "{ not json");
    expect(() => ProfileRegistry.load([builtinProfileDir(), dir])).toThrow(
      /broken\.json: \$: is not valid JSON/,
    );
    fs.writeFileSync(
      path.join(dir, "broken.json"),
      JSON.stringify({ ...ok, name: "loop", extends: "loop", rules: [] }),
    );
    expect(() => ProfileRegistry.load([builtinProfileDir(), dir])).toThrow(/extends itself/);
    fs.writeFileSync(path.join(dir, "broken.json"), JSON.stringify({ ...ok, name: "hipaa", rules: [] }));
    expect(() => ProfileRegistry.load([builtinProfileDir(), dir])).toThrow(/also defined in/);
    fs.rmSync(dir, { recursive: true });
  });

  it("user profiles in a directory extend the shipped ones", () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "profiles-"));
    fs.writeFileSync(
      path.join(dir, "trial.json"),
      JSON.stringify({
        ...ok,
        name: "trial",
        extends: "hipaa",
        rules: [{ keyword: "PatientID", action: "pseudonym", prefix: "T-" }],
      }),
    );
    const registry = ProfileRegistry.load([builtinProfileDir(), dir]);
    expect(registry.get("trial")?.exact.get(0x00100020)).toMatchObject({ action: "pseudonym", prefix: "T-" });
    fs.rmSync(dir, { recursive: true });
  });
});
