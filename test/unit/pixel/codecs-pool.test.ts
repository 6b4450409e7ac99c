/**
 * Compressed instances through the engine pool (worker threads on dist/, run `npm run build` first):
 * the worker loads the WASM codec the syntax needs and writes the result back in the same syntax.
 */
import { afterAll, describe, expect, it } from "vitest";
import { readPart10 } from "../../../src/dicom/part10.js";
import { EnginePool } from "../../../src/engine/pool.js";
import { builtinProfileDir } from "../../../src/profiles/registry.js";
import { corpusFile } from "../../helpers/corpus.js";
import { SECRET } from "../../helpers/engine.js";

const pool = new EnginePool(
  { profileDirs: [builtinProfileDir()], secretHex: SECRET.toString("hex"), maxInflatedBytes: 1 << 28 },
  1,
);
afterAll(() => pool.close());

describe("compressed pixel data in the engine pool", { timeout: 60_000 }, () => {
  it("JPEG Lossless ultrasound under pixel (template and detector): cleaned, still 4.70", async () => {
    const out = await pool.anonymize(corpusFile("us-philips-jpeg-lossless-sv1.dcm"), { name: "pixel" });
    if (out.status !== "anonymized") throw new Error(`${out.code}: ${out.reason}`);
    expect(readPart10(out.output).transferSyntax.uid).toBe("1.2.840.10008.1.2.4.70");
    const sources = out.changes
      .filter((c) => c.action === "cleanPixel")
      .map((c) => c.after!.split(" ").pop());
    expect(sources.filter((s) => s === "template")).toHaveLength(1);
    expect(sources.filter((s) => s === "detector").length).toBeGreaterThan(0);
  });
  it("JPEG 2000 and JPEG-LS under a profile that scans CR and MR", async () => {
    const custom = {
      name: "scan-cr-mr",
      description: "pixel step on CR and MR with a corner box",
      version: "1",
      extends: "hipaa",
      pixel: {
        scope: { modalities: ["CR", "MR"] },
        unmatched: "reject",
        templates: [
          {
            manufacturer: "FUJI PHOTO FILM CO. LTD.",
            model: "IRS",
            rows: 1760,
            columns: 1760,
            boxes: [[0, 0, 100, 40]],
          },
          { manufacturer: "TOSHIBA_MEC", model: "MRT50H1", rows: 64, columns: 64, boxes: [[0, 0, 10, 10]] },
        ],
      },
      rules: [],
    };
    for (const [name, uid] of [
      ["cr-jpeg2000-lossy", "1.2.840.10008.1.2.4.91"],
      ["mr-small-jpeg-ls-lossless", "1.2.840.10008.1.2.4.80"],
    ] as const) {
      const out = await pool.anonymize(corpusFile(`${name}.dcm`), { custom });
      if (out.status !== "anonymized") throw new Error(`${name} ${out.code}: ${out.reason}`);
      expect(readPart10(out.output).transferSyntax.uid).toBe(uid);
      expect(out.changes.some((c) => c.action === "cleanPixel")).toBe(true);
    }
  });
});
