import { describe, expect, it } from "vitest";
import { ProfileError } from "../../../src/errors.js";
import { customProfileProblem } from "../../../src/http/profile-choice.js";
import { REGISTRY } from "../../helpers/engine.js";

/** The problem text a request with this custom profile gets back. */
function problemOf(profile: Record<string, unknown>): string {
  try {
    REGISTRY.compileCustom(
      { name: "mine", description: "test", version: "1", extends: "hipaa", rules: [], ...profile },
      "part",
    );
  } catch (error) {
    if (error instanceof ProfileError) return customProfileProblem(error);
    throw error;
  }
  throw new Error("the profile was accepted");
}

const TEMPLATE = { manufacturer: "ACME", model: "Scan 1", rows: 100, columns: 200, boxes: [[0, 0, 200, 10]] };

describe("a custom profile's pixel block errors name the path and the rule, never a value", () => {
  it.each([
    [{ pixel: { padding: 99 } }, "$.pixel.padding: must be an integer 0-64"],
    [{ pixel: { detector: "yes" } }, "$.pixel.detector: must be true or false"],
    [{ pixel: { unmatched: "maybe" } }, '$.pixel.unmatched: must be "reject" or "pass"'],
    [{ pixel: { recheck: "all" } }, '$.pixel.recheck: must be "boxes" or "frame"'],
    [{ pixel: { scope: { modalities: [""] } } }, "$.pixel.scope.modalities[0]: is not a valid value"],
    [
      { pixel: { templates: [{ ...TEMPLATE, boxes: [[190, 0, 20, 10]] }] } },
      "$.pixel.templates[0].boxes[0]: lies outside the 200x100 frame",
    ],
    [
      { pixel: { templates: [{ ...TEMPLATE, boxes: [[0, 0, 10]] }] } },
      "$.pixel.templates[0].boxes[0]: must be [x, y, width, height]",
    ],
    [
      { pixel: { templates: [{ ...TEMPLATE, boxes: [] }] } },
      "$.pixel.templates[0].boxes: must list at least one box",
    ],
    [
      { pixel: { templates: [{ ...TEMPLATE, manufacturer: "" }] } },
      "$.pixel.templates[0].manufacturer: must not be empty",
    ],
  ])("%j", (profile, expected) => {
    expect(problemOf(profile)).toBe(`invalid custom profile: ${expected}`);
  });

  it("a template's manufacturer never comes back, even in an unknown field's name", () => {
    const problem = problemOf({ pixel: { templates: [{ ...TEMPLATE, "SECRET^NAME": 1 }] } });
    expect(problem).not.toContain("SECRET");
    expect(problem).toBe(
      "invalid custom profile: $.pixel.templates[0] has a field that is not part of the profile format",
    );
  });
});
