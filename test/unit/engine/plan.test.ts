/** The precedence of compilePlan, as a matrix (see the comment at the top of src/engine/plan.ts). */
import { describe, expect, it } from "vitest";
import { compilePlan, privateRuleFor, publicRuleFor } from "../../../src/engine/plan.js";
import type { ProfileFile } from "../../../src/profiles/types.js";
import { REGISTRY } from "../../helpers/engine.js";

const base: ProfileFile = {
  name: "base",
  description: "",
  version: "1",
  rules: [
    { tag: "(0010,0010)", action: "empty", options: { retainPatientCharacteristics: "keep" } },
    { pattern: "(60xx,3000)", action: "remove" },
    { tag: "(6002,3000)", action: "keep" },
    { tag: "(0008,0020)", action: "empty", options: { retainLongitudinalFullDates: "keep" } },
  ],
};

function child(rules: ProfileFile["rules"], options: ProfileFile["options"] = []): ProfileFile {
  return { name: "child", description: "", version: "1", extends: "base", options, rules };
}

describe("plan precedence", () => {
  it("an exact tag rule beats a pattern rule", () => {
    const plan = compilePlan([base]);
    expect(publicRuleFor(plan, 0x60003000).action).toBe("remove");
    expect(publicRuleFor(plan, 0x60023000).action).toBe("keep");
  });

  it("a child's rule replaces its parent's for the same selector", () => {
    const plan = compilePlan([base, child([{ tag: "(0010,0010)", action: "replace", value: "X" }])]);
    expect(publicRuleFor(plan, 0x00100010)).toMatchObject({ action: "replace", value: "X" });
  });

  it("an option rewrites the rules that declare it, and not a child's own rule", () => {
    const withOption = compilePlan([base, child([], ["retainLongitudinalFullDates"])]);
    expect(publicRuleFor(withOption, 0x00080020).action).toBe("keep");
    expect(publicRuleFor(withOption, 0x00100010).action).toBe("empty");
    const overridden = compilePlan([
      base,
      child([{ tag: "(0008,0020)", action: "yearOnly" }], ["retainLongitudinalFullDates"]),
    ]);
    expect(publicRuleFor(overridden, 0x00080020).action).toBe("yearOnly");
  });

  it("a VR rule covers the dictionary's attributes of that VR; the same layer's tag rule beats it", () => {
    const plan = compilePlan([
      base,
      child([
        { vr: ["DA"], action: "yearOnly" },
        { tag: "(0010,0030)", action: "remove" },
      ]),
    ]);
    expect(publicRuleFor(plan, 0x00080020).action).toBe("yearOnly"); // parent's exact rule replaced
    expect(publicRuleFor(plan, 0x00080021).action).toBe("yearOnly"); // not in the parent at all
    expect(publicRuleFor(plan, 0x00100030).action).toBe("remove");
    // An attribute the dictionary does not know gets the VR rule for the VR it was read with.
    expect(publicRuleFor(plan, 0x00889999, "DA").action).toBe("yearOnly");
    // Without a VR rule, the unknown default: remove (PS3.15 removes what it does not know to be safe).
    expect(publicRuleFor(plan, 0x00889999, "LO").action).toBe("remove");
  });

  it("an element the dictionary does not know is removed, and a PN is never kept without a rule", () => {
    const hipaa = REGISTRY.get("hipaa")!;
    const basic = REGISTRY.get("basic")!;
    for (const p of [hipaa, basic]) {
      expect(publicRuleFor(p, 0x00100018, "PN").action).toBe("remove"); // a bit flip of Patient Name
      expect(publicRuleFor(p, 0x0040a999, "PN").action).toBe("remove");
      expect(publicRuleFor(p, 0x00109999, "LO").action).toBe("remove");
      expect(publicRuleFor(p, 0x00280010, "US").action).toBe("keep"); // Rows: known, unlisted, kept
    }
    // A custom profile may keep unknown elements (unsafe, documented); a PN still needs a rule.
    const unsafe = compilePlan([{ ...base, defaults: { unknown: "keep" } }]);
    expect(publicRuleFor(unsafe, 0x00109999, "LO").action).toBe("keep");
    expect(publicRuleFor(unsafe, 0x00100018, "PN").action).toBe("remove");
    const named = compilePlan([base, child([{ tag: "(0010,0018)", action: "keep" }])]);
    expect(publicRuleFor(named, 0x00100018, "PN").action).toBe("keep");
  });

  it("unlisted and private defaults apply last; private rules go from specific to general", () => {
    const plan = compilePlan([
      {
        name: "p",
        description: "",
        version: "1",
        defaults: { private: "remove", unlisted: "keep" },
        rules: [
          { privateCreator: "ACME", group: "0011", element: "10", action: "keep" },
          { privateCreator: "ACME", group: "0011", action: "empty" },
          { privateCreator: "ACME", action: "dummy" },
        ],
      },
    ]);
    expect(publicRuleFor(plan, 0x00280010).action).toBe("keep");
    expect(privateRuleFor(plan, 0x00111010, "ACME").action).toBe("keep");
    expect(privateRuleFor(plan, 0x00111011, "ACME").action).toBe("empty");
    expect(privateRuleFor(plan, 0x00131011, "ACME").action).toBe("dummy");
    expect(privateRuleFor(plan, 0x00111010, "OTHER").action).toBe("remove");
    expect(privateRuleFor(plan, 0x00111010, undefined).action).toBe("remove");
  });

  it("the shipped profiles stamp their method codes and longitudinal handling", () => {
    const hipaa = REGISTRY.get("hipaa")!;
    expect(hipaa.methodCodes.map((m) => m.code)).toEqual(["113100", "113105", "113108"]);
    expect(hipaa.longitudinal).toBe("MODIFIED");
    expect(REGISTRY.get("basic")!.longitudinal).toBe("REMOVED");
  });
});
