/**
 * The re-check after redaction (src/pixel/recheck.ts): a fill that did not take is refused with
 * PIXEL_VERIFY (bug injected with a cleanPixelData stand-in), and text the first pass missed is
 * filled by a second pass and audited with source "detector".
 */
import { describe, expect, it } from "vitest";
import { readPart10 } from "../../../src/dicom/part10.js";
import { PIXEL_DATA } from "../../../src/dicom/tag.js";
import type { PixelConfig, Rect } from "../../../src/pixel/config.js";
import * as detector from "../../../src/pixel/detector.js";
import { detectInstance } from "../../../src/pixel/detect-instance.js";
import { cleanPixelData, decodeFrames, PixelError, type PixelResult } from "../../../src/pixel/index.js";
import { guardRegions, recheckRedaction, shareInside } from "../../../src/pixel/recheck.js";
import { corpusFile } from "../../helpers/corpus.js";
import { REGISTRY } from "../../helpers/engine.js";
import { BOXES } from "./detector-fixtures.js";

function configOf(recheck?: "boxes" | "frame"): PixelConfig {
  return REGISTRY.compileCustom({
    name: "detect-only",
    description: "hipaa + detector",
    version: "1",
    extends: "hipaa",
    pixel: { detector: true, scope: { modalities: ["US"] }, ...(recheck ? { recheck } : {}) },
    rules: [],
  }).pixel!;
}
const NAME = "us-burned-in-yes-philips-phi";

async function setup(): Promise<{
  parsed: ReturnType<typeof readPart10>;
  detected: Rect[][];
}> {
  const parsed = readPart10(corpusFile(`${NAME}.dcm`));
  return { parsed, detected: await detectInstance(parsed.dataset, parsed.transferSyntax) };
}

describe.each([
  ["default (boxes)", undefined],
  ["frame", "frame"],
] as const)("re-check after redaction, recheck %s", { timeout: 120_000 }, (_, recheck) => {
  const config = configOf(recheck);
  it("compiles the setting", () => {
    expect(config.recheck).toBe(recheck);
  });

  it("a correct redaction passes the guard", async () => {
    const { parsed, detected } = await setup();
    const result = cleanPixelData(parsed.dataset, parsed.transferSyntax, config, detected);
    const checked = await recheckRedaction(
      parsed.dataset,
      parsed.transferSyntax,
      config,
      detected,
      result,
      cleanPixelData,
    );
    // Everything the first pass filled is still filled.
    for (const b of result.boxes) expect(checked.boxes).toContainEqual(b);
  });

  it("a fill that did not take (cleanPixelData stand-in returning the original pixels) is PIXEL_VERIFY", async () => {
    const { parsed, detected } = await setup();
    const real = cleanPixelData(parsed.dataset, parsed.transferSyntax, config, detected);
    const original = parsed.dataset.find((e) => e.tag === PIXEL_DATA)!;
    const noFill = (): PixelResult => ({ element: original, boxes: real.boxes });
    const broken = noFill();
    const outcome = await recheckRedaction(
      parsed.dataset,
      parsed.transferSyntax,
      config,
      detected,
      broken,
      noFill,
    ).catch((e: unknown) => e);
    expect(outcome).toBeInstanceOf(PixelError);
    expect((outcome as PixelError).code).toBe("PIXEL_VERIFY");
  });

  it("text the first pass missed is filled by the second pass and audited as detector", async () => {
    const { parsed, detected } = await setup();
    const [x, y, w, h, label] = BOXES[NAME]!.boxes[0]!; // the patient's name
    const gt: Rect = [x, y, w, h];
    // A first pass that missed the name (every detection touching it dropped).
    const missed = detected.map((boxes) => boxes.filter((d) => shareInside(gt, [d]) === 0));
    expect(missed[0]!.length).toBeLessThan(detected[0]!.length);
    const first = cleanPixelData(parsed.dataset, parsed.transferSyntax, config, missed);
    const second = await recheckRedaction(
      parsed.dataset,
      parsed.transferSyntax,
      config,
      missed,
      first,
      cleanPixelData,
    );
    const covering = second.boxes.filter((b) => shareInside(gt, [[b.x, b.y, b.width, b.height]]) > 0);
    expect(covering.length, label).toBeGreaterThan(0);
    expect(covering.every((b) => b.source === "detector")).toBe(true);
    const written = parsed.dataset.map((e) => (e.tag === PIXEL_DATA ? second.element : e));
    const { frames, module: px } = decodeFrames(written, parsed.transferSyntax);
    for (let yy = y; yy < y + h; yy++)
      for (let xx = x; xx < x + w; xx++)
        expect(frames[0]![yy * px.cols + xx], `${label} (${xx},${yy})`).toBe(0);
  });
});

describe("re-check scope", { timeout: 120_000 }, () => {
  it('"boxes" detects only around the filled boxes: fewer model pixels than "frame", which detects the whole frame', async () => {
    const { parsed, detected } = await setup();
    const pixels = async (config: PixelConfig): Promise<number> => {
      const result = cleanPixelData(parsed.dataset, parsed.transferSyntax, config, detected);
      const before = detector.detectorPixels;
      await recheckRedaction(parsed.dataset, parsed.transferSyntax, config, detected, result, cleanPixelData);
      return detector.detectorPixels - before;
    };
    const boxes = await pixels(configOf());
    const frame = await pixels(configOf("frame"));
    expect(frame).toBe(1024 * 768);
    expect(boxes).toBeGreaterThan(0);
    expect(boxes).toBeLessThan(frame / 3);
  });

  it("guard regions: padded, clipped to the frame, merged where they touch", () => {
    expect(guardRegions([[0, 0, 10, 10]], 100, 100, 4)).toEqual([[0, 0, 14, 14]]);
    expect(
      guardRegions(
        [
          [10, 10, 10, 10],
          [26, 10, 10, 10],
          [80, 80, 30, 30],
        ],
        100,
        100,
        4,
      ),
    ).toEqual([
      [6, 6, 34, 18],
      [76, 76, 24, 24],
    ]);
  });
});
