/**
 * Profile `pixel`'s device templates (its detector off: the synchronous engine path; the detector is
 * tested in detector*.test.ts and, through `pixel` itself, below with the asynchronous step) end to
 * end through the engine on the corpus' Philips ultrasound files: the PHI text
 * boxes (test/fixtures/pixel/corpus-boxes.json, copied from the design notes) come out filled, every
 * other sample and every header byte but Pixel Data, Burned In Annotation and the method attributes is
 * what `hipaa` writes, the output decodes in dcmtk to the same samples, and refusals carry codes.
 */
import { execFileSync } from "node:child_process";
import crypto from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import type { DataElement } from "../../../src/dicom/element.js";
import { readPart10 } from "../../../src/dicom/part10.js";
import { tagOf } from "../../../src/dicom/tag.js";
import { asciiValue } from "../../../src/dicom/values.js";
import { anonymizeInstance } from "../../../src/engine/anonymize.js";
import { UidMapper } from "../../../src/engine/uid-map.js";
import { decodeFrames, inPixelScope } from "../../../src/pixel/index.js";
import { runPixelStep } from "../../../src/pixel/step.js";
import { corpusFile, ROOT } from "../../helpers/corpus.js";
import { anonymize, anonymized, PIXEL_TEMPLATES, plan, REGISTRY, SECRET } from "../../helpers/engine.js";

const BOXES = JSON.parse(
  fs.readFileSync(path.join(ROOT, "test/fixtures/pixel/corpus-boxes.json"), "utf8"),
) as Record<string, { boxes: [number, number, number, number, string, number?][] }>;
const PIXEL_DATA = 0x7fe00010;
const CHANGED_BY_PIXEL = new Set([
  PIXEL_DATA,
  tagOf(0x0028, 0x0301),
  tagOf(0x0012, 0x0063),
  tagOf(0x0012, 0x0064),
]);
const text = (ds: readonly DataElement[], tag: number): string =>
  asciiValue(ds.find((e) => e.tag === tag)?.value).trim();

/** Elements equal in tag, VR and bytes, sequences item by item. */
function sameElements(a: readonly DataElement[], b: readonly DataElement[]): void {
  expect(a.map((e) => e.tag)).toEqual(b.map((e) => e.tag));
  a.forEach((e, i) => {
    const f = b[i]!;
    expect(f.vr, `vr of ${e.tag.toString(16)}`).toBe(e.vr);
    expect(
      Buffer.from(f.value ?? []).equals(Buffer.from(e.value ?? [])),
      `value of ${e.tag.toString(16)}`,
    ).toBe(true);
    expect(f.items?.length).toBe(e.items?.length);
    e.items?.forEach((item, j) => sameElements(item.elements, f.items![j]!.elements));
  });
}

/** Per-frame SHA-256 of the file as dcmtk decodes it (the make-ref.sh pipeline). */
function dcmtkHashes(file: Buffer, rle: boolean): string[] {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "pixel-"));
  try {
    fs.writeFileSync(path.join(dir, "in.dcm"), file);
    execFileSync(rle ? "dcmdrle" : "dcmconv", [
      ...(rle ? [] : ["+te"]),
      path.join(dir, "in.dcm"),
      path.join(dir, "out.dcm"),
    ]);
    const line = execFileSync("/usr/bin/python3", [
      path.join(ROOT, "test/fixtures/pixel/dump-ref.py"),
      "x",
      path.join(dir, "out.dcm"),
    ]).toString();
    return line.trim().split(/\s+/).slice(1);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

const hipaaAllowingFlag = REGISTRY.compileCustom({
  name: "hipaa-allow",
  description: "hipaa without the burned-in refusal (comparison only)",
  version: "1",
  extends: "hipaa",
  burnedInAnnotation: "allow",
  rules: [],
});

describe.each([
  ["us-burned-in-yes-philips-phi", false, "YES", [0, 0, 1024, 26]],
  ["us-philips-palette-rle", true, "", [0, 0, 800, 62]],
] as const)("profile pixel's templates on %s", (name, rle, flag, padded) => {
  const input = corpusFile(`${name}.dcm`);
  const out = anonymized(input, PIXEL_TEMPLATES);
  const written = readPart10(out.output);
  const original = readPart10(input);

  it("fills every PHI box and leaves every other sample as it was", () => {
    const before = decodeFrames(original.dataset, original.transferSyntax).frames[0]!;
    const after = decodeFrames(written.dataset, written.transferSyntax).frames[0]!;
    const cols = padded[2];
    const phi = BOXES[name]!.boxes.filter((b) => b[5] === 1);
    expect(phi.length).toBeGreaterThan(0);
    for (const [x, y, w, h] of phi)
      for (let yy = y; yy < y + h; yy++)
        for (let xx = x; xx < x + w; xx++) expect(after[yy * cols + xx], `(${xx},${yy})`).toBe(0);
    let changedOutside = 0;
    for (let i = 0; i < before.length; i++) {
      const inside = Math.floor(i / cols) < padded[3];
      if (!inside && before[i] !== after[i]) changedOutside++;
    }
    expect(changedOutside).toBe(0);
    // The original did show text there: the step changed something.
    expect(Buffer.compare(before, after)).not.toBe(0);
  });

  it("changes only Pixel Data, Burned In Annotation and the method attributes (vs hipaa)", () => {
    const reference = readPart10(anonymized(input, hipaaAllowingFlag).output);
    sameElements(
      written.dataset.filter((e) => !CHANGED_BY_PIXEL.has(e.tag)),
      reference.dataset.filter((e) => !CHANGED_BY_PIXEL.has(e.tag)),
    );
    expect(written.transferSyntax.uid).toBe(original.transferSyntax.uid);
    expect(text(written.dataset, tagOf(0x0028, 0x0301))).toBe("NO");
    const codes = written.dataset
      .find((e) => e.tag === tagOf(0x0012, 0x0064))!
      .items!.map((item) => text(item.elements, tagOf(0x0008, 0x0100)));
    expect(codes).toContain("113101");
    expect(text(original.dataset, tagOf(0x0028, 0x0301))).toBe(flag);
  });

  it("audits every box and the flag", () => {
    const boxes = out.changes.filter((c) => c.action === "cleanPixel");
    expect(boxes.map((c) => c.after)).toEqual([
      `frame 1 x ${padded[0]} y ${padded[1]} width ${padded[2]} height ${padded[3]} source template`,
    ]);
    expect(out.changes.find((c) => c.keyword === "BurnedInAnnotation")?.after).toBe("NO");
  });

  it("the written file decodes in dcmtk to the same samples", () => {
    const ours = decodeFrames(written.dataset, written.transferSyntax).frames.map((f) =>
      crypto.createHash("sha256").update(f).digest("hex"),
    );
    expect(dcmtkHashes(out.output, rle)).toEqual(ours);
  });
});

describe("profile pixel: scope and refusals", () => {
  it("hipaa still refuses the flagged file; pixel's templates clean it", () => {
    const input = corpusFile("us-burned-in-yes-philips-phi.dcm");
    expect(anonymize(input, "hipaa")).toMatchObject({ status: "failed", code: "BURNED_IN_ANNOTATION" });
    expect(anonymize(input, PIXEL_TEMPLATES).status).toBe("anonymized");
  });
  it("pixel runs the detector: without the asynchronous step that runs it, the instance is refused", () => {
    expect(plan("pixel").pixel?.detector).toBe(true);
    expect(anonymize(corpusFile("us-burned-in-yes-philips-phi.dcm"), "pixel")).toMatchObject({
      status: "failed",
      code: "PIXEL_NO_TEXT_FINDER",
    });
  });
  it("a Secondary Capture is in scope whatever its Modality says (a screenshot of a CT says CT)", () => {
    const parsed = readPart10(corpusFile("sc-rgb-jpeg-baseline-utf8.dcm"));
    const plan = REGISTRY.get("pixel")!;
    expect(inPixelScope(parsed.dataset, plan.pixel!)).toBe(true);
    const asCt = parsed.dataset.map((e) =>
      e.tag === tagOf(0x0008, 0x0060) ? { ...e, value: Buffer.from("CT") } : e,
    );
    expect(inPixelScope(asCt, plan.pixel!)).toBe(true);
    // Without it: the same instance with a CT Image Storage class is out of scope.
    const ctClass = asCt.map((e) =>
      e.tag === tagOf(0x0008, 0x0016) ? { ...e, value: Buffer.from("1.2.840.10008.5.1.4.1.1.2\0") } : e,
    );
    expect(inPixelScope(ctClass, plan.pixel!)).toBe(false);
  });

  it("a CT without the flag is out of scope: hipaa's output but for the method text, no 113101", () => {
    const input = corpusFile("ct-explicit-le-ge-small.dcm");
    const a = readPart10(anonymized(input, "pixel").output);
    const b = readPart10(anonymized(input, "hipaa").output);
    const skip = new Set([tagOf(0x0012, 0x0063), tagOf(0x0012, 0x0064)]);
    sameElements(
      a.dataset.filter((e) => !skip.has(e.tag)),
      b.dataset.filter((e) => !skip.has(e.tag)),
    );
    const codes = a.dataset
      .find((e) => e.tag === tagOf(0x0012, 0x0064))!
      .items!.map((i) => text(i.elements, tagOf(0x0008, 0x0100)));
    expect(codes).not.toContain("113101");
  });
  it("with the detector off, an ultrasound no template matches is refused, not passed with its text", () => {
    expect(anonymize(corpusFile("us-multiframe-acuson-implicit-large.dcm"), PIXEL_TEMPLATES)).toMatchObject({
      status: "failed",
      code: "PIXEL_NO_TEXT_FINDER",
    });
  });
  it("a compressed ultrasound whose codec was never loaded (no pixel step ran) is refused", () => {
    // The synchronous path (no runPixelStep before anonymizeInstance) has no WASM codec loaded.
    expect(anonymize(corpusFile("us-philips-jpeg-lossless-sv1.dcm"), PIXEL_TEMPLATES)).toMatchObject({
      status: "failed",
      code: "PIXEL_CODEC_ERROR",
    });
  });
  it("the pixel plan carries the seeded Philips templates", () => {
    expect(plan("pixel").pixel?.templates.map((t) => t.model)).toEqual(["EPIQ 5G", "EPIQ 7C", "CX50"]);
    expect(plan("hipaa").pixel).toBeUndefined();
  });
});

describe("pixel block validation", () => {
  const custom = (pixel: unknown): unknown =>
    REGISTRY.compileCustom({ name: "p", description: "d", version: "1", extends: "pixel", pixel, rules: [] });
  it("a child profile's templates add to its parent's", () => {
    const p = custom({
      templates: [{ manufacturer: "ACME", model: "X", rows: 10, columns: 20, boxes: [[0, 0, 20, 2]] }],
    }) as ReturnType<typeof plan>;
    expect(p.pixel?.templates).toHaveLength(4);
    expect(p.pixel?.unmatched).toBe("reject");
    expect(p.pixel?.lossy).toBe("transcode"); // inherited from profiles/pixel.json
  });
  it("lossy: a child's setting wins; without any, refuse", () => {
    expect((custom({ lossy: "refuse" }) as ReturnType<typeof plan>).pixel?.lossy).toBe("refuse");
    const own = REGISTRY.compileCustom({
      name: "q",
      description: "d",
      version: "1",
      extends: "hipaa",
      pixel: { unmatched: "pass" },
      rules: [],
    }) as ReturnType<typeof plan>;
    expect(own.pixel?.lossy).toBe("refuse");
  });
  it.each([
    [{ detector: "yes" }, "detector"],
    [{ padding: -1 }, "padding"],
    [{ unmatched: "maybe" }, "unmatched"],
    [{ lossy: "maybe" }, "lossy"],
    [{ lossy: true }, "lossy"],
    [{ scope: { modalities: ["us!"] } }, "modalities"],
    [{ scope: { sopClasses: ["1.2.x"] } }, "sopClasses"],
    [
      { templates: [{ manufacturer: "A", model: "B", rows: 10, columns: 20, boxes: [[15, 0, 10, 2]] }] },
      "boxes[0]",
    ],
    [{ templates: [{ manufacturer: "A", model: "B", rows: 10, columns: 20, boxes: [] }] }, "boxes"],
    [
      { templates: [{ manufacturer: "A", model: "B", rows: 10, columns: 20, boxes: [[0, 0, 0, 2]] }] },
      "boxes[0]",
    ],
    [{ colour: "red" }, "colour"],
  ])("refuses %j", (pixel, where) => {
    expect(() => custom(pixel)).toThrow(where);
  });
});

describe("profile pixel itself: templates, then the detector (the asynchronous step, as the workers run it)", () => {
  async function throughPixel(name: string) {
    const input = corpusFile(`${name}.dcm`);
    const pixel = await runPixelStep(input, plan("pixel"));
    const outcome = anonymizeInstance(input, { plan: plan("pixel"), uids: new UidMapper(SECRET), pixel });
    if (outcome.status !== "anonymized") throw new Error(`${outcome.code}: ${outcome.reason}`);
    const sources = outcome.changes
      .filter((c) => c.action === "cleanPixel")
      .map((c) => c.after!.split(" ").pop());
    return { outcome, sources, written: readPart10(outcome.output) };
  }

  it("the flagged Philips frame: the template's bar and the detector's boxes; every PHI box is black", async () => {
    const { sources, written } = await throughPixel("us-burned-in-yes-philips-phi");
    expect(sources.filter((s) => s === "template")).toHaveLength(1);
    expect(sources.filter((s) => s === "detector").length).toBeGreaterThan(0);
    const after = decodeFrames(written.dataset, written.transferSyntax).frames[0]!;
    for (const [x, y, w, h] of BOXES["us-burned-in-yes-philips-phi"]!.boxes.filter((b) => b[5] === 1))
      for (let yy = y; yy < y + h; yy++)
        for (let xx = x; xx < x + w; xx++) expect(after[yy * 1024 + xx], `(${xx},${yy})`).toBe(0);
    expect(text(written.dataset, tagOf(0x0028, 0x0301))).toBe("NO");
  });

  it("an ultrasound cine no template matches is cleaned by the detector, not refused", async () => {
    const { sources, written } = await throughPixel("us-multiframe-acuson-implicit-large");
    expect(sources.length).toBeGreaterThan(0);
    expect(sources.every((s) => s === "detector")).toBe(true);
    expect(text(written.dataset, tagOf(0x0028, 0x0301))).toBe("NO");
  });
});
