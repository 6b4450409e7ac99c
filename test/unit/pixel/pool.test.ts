/**
 * The detector inside the engine workers (dist/, run `npm run build` first): a profile with
 * detector: true gets its boxes from PP-OCRv4 in the worker, lazily initialised, and the PHI is gone.
 */
import { afterAll, describe, expect, it } from "vitest";
import { EnginePool } from "../../../src/engine/pool.js";
import { builtinProfileDir } from "../../../src/profiles/registry.js";
import { corpusFile } from "../../helpers/corpus.js";
import { SECRET } from "../../helpers/engine.js";

const pool = new EnginePool(
  { profileDirs: [builtinProfileDir()], secretHex: SECRET.toString("hex"), maxInflatedBytes: 1 << 28 },
  1,
);
afterAll(() => pool.close());

describe("pixel step in the engine pool", { timeout: 60_000 }, () => {
  it("profile pixel (template and detector) and a detector-only profile both clean the CX50 header bar", async () => {
    const input = corpusFile("us-philips-palette-rle.dcm");
    const byTemplate = await pool.anonymize(input, { name: "pixel" });
    expect(byTemplate.status).toBe("anonymized");
    const custom = {
      name: "detect",
      description: "hipaa + detector",
      version: "1",
      extends: "hipaa",
      pixel: { detector: true },
      rules: [],
    };
    const byDetector = await pool.anonymize(input, { custom });
    if (byDetector.status !== "anonymized") throw new Error(byDetector.code);
    const boxes = byDetector.changes.filter((c) => c.action === "cleanPixel");
    expect(boxes.length).toBeGreaterThan(10);
    expect(boxes.every((c) => c.after!.endsWith("source detector"))).toBe(true);
  });
  it("header-only instances under the same detector profile are not scanned", async () => {
    const outcome = await pool.anonymize(corpusFile("ct-explicit-le-ge-small.dcm"), {
      custom: {
        name: "detect",
        description: "d",
        version: "1",
        extends: "hipaa",
        pixel: { detector: true },
        rules: [],
      },
    });
    if (outcome.status !== "anonymized") throw new Error(outcome.code);
    expect(outcome.changes.some((c) => c.action === "cleanPixel")).toBe(false);
  });
});
