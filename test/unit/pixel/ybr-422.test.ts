/**
 * Native YBR_FULL_422 (pixel pairs stored Y1 Y2 Cb Cr, PS3.3 C.7.6.3.1.2): a real ultrasound is
 * cleaned (it was refused as PIXEL_UNSUPPORTED_PHOTOMETRIC although dcmtk and pydicom read it).
 * Boxes widen to whole pairs; inside, Y is 0 and Cb/Cr mid-grey; every other stored byte is as it was.
 */
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { readPart10 } from "../../../src/dicom/part10.js";
import { PIXEL_DATA, tagOf } from "../../../src/dicom/tag.js";
import { asciiValue } from "../../../src/dicom/values.js";
import type { PixelConfig } from "../../../src/pixel/config.js";
import { cleanPixelData, decodeFrames } from "../../../src/pixel/index.js";
import { REALWORLD_DIR } from "../../helpers/corpus.js";
import { anonymize, REGISTRY } from "../../helpers/engine.js";
import { requireTool } from "../../helpers/tools.js";

const FILE = path.join(REALWORLD_DIR, "dcm4che_dcm4che__dcm4che-test-data_src_main_resources_YBR_422.dcm");
const text = (ds: ReturnType<typeof readPart10>["dataset"], tag: number) =>
  asciiValue(ds.find((e) => e.tag === tag)?.value).trim();

describe("native YBR_FULL_422", () => {
  const input = fs.readFileSync(FILE);
  const parsed = readPart10(input);
  const cols = 800;
  const rows = 555;
  // An odd x and width: the fill must widen to pixel pairs (x 10..21 -> pairs 10..21, 9 -> 8).
  const box = [9, 20, 12, 30] as const;
  const config: PixelConfig = {
    detector: false,
    padding: 0,
    scope: { modalities: ["US"], sopClasses: [], burnedInAnnotationYes: true },
    unmatched: "reject",
    templates: [
      {
        manufacturer: text(parsed.dataset, tagOf(0x0008, 0x0070)),
        model: text(parsed.dataset, tagOf(0x0008, 0x1090)),
        rows,
        columns: cols,
        boxes: [box],
      },
    ],
  };

  it("decodes to full YBR with each pair's chroma on both pixels", () => {
    const { frames, module: px } = decodeFrames(parsed.dataset, parsed.transferSyntax);
    expect(px.photometric).toBe("YBR_FULL_422");
    expect(frames[0]!.length).toBe(rows * cols * 3);
    const packed = parsed.dataset.find((e) => e.tag === PIXEL_DATA)!.value!;
    expect(packed.length).toBe(rows * cols * 2);
    // Pair 5 of row 7: Y1 Y2 Cb Cr -> (Y1 Cb Cr) (Y2 Cb Cr).
    const p = (7 * cols + 10) * 2;
    const o = (7 * cols + 10) * 3;
    expect([...frames[0]!.subarray(o, o + 6)]).toEqual([
      packed[p],
      packed[p + 2],
      packed[p + 3],
      packed[p + 1],
      packed[p + 2],
      packed[p + 3],
    ]);
  });

  it("fills whole pairs and leaves every other stored byte as it was", () => {
    const result = cleanPixelData(parsed.dataset, parsed.transferSyntax, config);
    expect(result.boxes).toEqual([{ frame: 1, x: 8, y: 20, width: 14, height: 30, source: "template" }]);
    const before = parsed.dataset.find((e) => e.tag === PIXEL_DATA)!.value!;
    const after = result.element.value!;
    const expected = Buffer.from(before);
    for (let y = 20; y < 50; y++)
      for (let x = 8; x < 22; x += 2) expected.set([0, 0, 128, 128], (y * cols + x) * 2);
    expect(Buffer.compare(Buffer.from(after), expected)).toBe(0);
    expect(Buffer.compare(Buffer.from(after), Buffer.from(before))).not.toBe(0);
  });

  it("comes out of the engine with a custom profile, and dcmtk reads what it wrote", () => {
    const plan = REGISTRY.compileCustom({
      name: "ybr422",
      description: "pixel's templates (detector off) with one for this device",
      version: "1",
      extends: "pixel",
      pixel: { detector: false, templates: config.templates },
      rules: [],
    });
    const outcome = anonymize(input, plan);
    if (outcome.status !== "anonymized") throw new Error(`${outcome.code}: ${outcome.reason}`);
    expect(outcome.changes.filter((c) => c.action === "cleanPixel")).toHaveLength(1);
    if (!requireTool("dcmconv", "dcmtk")) return;
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "ybr422-"));
    try {
      fs.writeFileSync(path.join(dir, "out.dcm"), outcome.output);
      const r = spawnSync("dcm2pnm", ["+obt", path.join(dir, "out.dcm"), path.join(dir, "out.bmp")]);
      expect(r.status, String(r.stderr)).toBe(0);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
