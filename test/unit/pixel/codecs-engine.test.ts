/**
 * Compressed instances end to end as the engine workers run them: runPixelStep (codecs loaded, boxes
 * filled, the result checked) -> anonymizeInstance with ctx.pixel. The written file keeps every
 * header element the profile alone writes, except Pixel Data, Burned In Annotation, the method
 * attributes and (only when a lossy JPEG is transcoded) the attributes listed in the audit; the
 * transfer syntax changes only when transcoded.
 */
import { describe, expect, it, vi } from "vitest";
import type { DataElement } from "../../../src/dicom/element.js";
import { readPart10 } from "../../../src/dicom/part10.js";
import { tagOf } from "../../../src/dicom/tag.js";
import { asciiValue } from "../../../src/dicom/values.js";
import { anonymizeInstance, type AnonymizedInstance } from "../../../src/engine/anonymize.js";
import type { Plan } from "../../../src/engine/plan.js";
import { UidMapper } from "../../../src/engine/uid-map.js";
import { PixelError } from "../../../src/pixel/errors.js";
import { decodeFrames } from "../../../src/pixel/index.js";
import { runPixelStep } from "../../../src/pixel/step.js";
import { corpusFile } from "../../helpers/corpus.js";
import { PIXEL_TEMPLATES, REGISTRY, SECRET } from "../../helpers/engine.js";

// The DCT-domain redactor is another work package; here it always declines, so 4.50 takes the
// profile's lossy policy deterministically (codecs-dct.test.ts covers the other outcomes).
vi.mock("../../../src/pixel/jpeg-dct/index.js", () => ({
  redactJpegBlocks: () => {
    throw new PixelError("PIXEL_UNSUPPORTED_SYNTAX", "not available");
  },
}));

const PIXEL_DATA = 0x7fe00010;
const METHOD = new Set([PIXEL_DATA, tagOf(0x0028, 0x0301), tagOf(0x0012, 0x0063), tagOf(0x0012, 0x0064)]);
const text = (ds: readonly DataElement[], tag: number): string =>
  asciiValue(ds.find((e) => e.tag === tag)?.value).trim();

const hipaaAllowingFlag = REGISTRY.compileCustom({
  name: "hipaa-allow",
  description: "hipaa without the burned-in refusal (comparison only)",
  version: "1",
  extends: "hipaa",
  burnedInAnnotation: "allow",
  rules: [],
});

async function throughEngine(input: Buffer, p: Plan): Promise<AnonymizedInstance> {
  const pixel = await runPixelStep(input, p);
  expect(pixel?.status).toBe("cleaned");
  const out = anonymizeInstance(input, { plan: p, uids: new UidMapper(SECRET), pixel });
  if (out.status !== "anonymized") throw new Error(`${out.code}: ${out.reason}`);
  return out;
}

/** Elements equal in tag, VR and bytes (sequences compared by their encoded items). */
function sameElements(a: readonly DataElement[], b: readonly DataElement[]): void {
  expect(a.map((e) => e.tag.toString(16))).toEqual(b.map((e) => e.tag.toString(16)));
  a.forEach((e, i) => {
    expect(b[i]!.vr).toBe(e.vr);
    expect(Buffer.from(b[i]!.value ?? []).equals(Buffer.from(e.value ?? [])), e.tag.toString(16)).toBe(true);
    expect(b[i]!.items?.length).toBe(e.items?.length);
  });
}

describe("us-philips-jpeg-lossless-sv1 (4.70, EPIQ 7C template) through profile pixel's templates (detector off)", async () => {
  const input = corpusFile("us-philips-jpeg-lossless-sv1.dcm");
  const out = await throughEngine(input, PIXEL_TEMPLATES);
  const written = readPart10(out.output);
  const original = readPart10(input);

  it("stays JPEG Lossless SV1; the patient bar is black, every other sample as decoded before", () => {
    expect(written.transferSyntax.uid).toBe("1.2.840.10008.1.2.4.70");
    const before = decodeFrames(original.dataset, original.transferSyntax).frames[0]!;
    const after = decodeFrames(written.dataset, written.transferSyntax).frames[0]!;
    // Template [0, 0, 1024, 24] padded by 2: rows 0-25.
    const rowBytes = before.length / 768;
    expect(after.subarray(0, 26 * rowBytes).every((v) => v === 0)).toBe(true);
    expect(Buffer.compare(after.subarray(26 * rowBytes), before.subarray(26 * rowBytes))).toBe(0);
    // (This file's patient bar was blanked before it was published: the text starts at y 26.)
  });
  it("changes no header element but Pixel Data, Burned In Annotation and the method (vs hipaa)", () => {
    const ref = anonymizeInstance(input, { plan: hipaaAllowingFlag, uids: new UidMapper(SECRET) });
    const reference = readPart10((ref as AnonymizedInstance).output);
    sameElements(
      written.dataset.filter((e) => !METHOD.has(e.tag)),
      reference.dataset.filter((e) => !METHOD.has(e.tag)),
    );
    expect(text(written.dataset, tagOf(0x0028, 0x0301))).toBe("NO");
    expect(out.changes.filter((c) => c.action === "cleanPixel").map((c) => c.after)).toEqual([
      "frame 1 x 0 y 0 width 1024 height 26 source template",
    ]);
  });
});

describe("us-multiframe-jpeg-baseline-ybr (4.50, 30 frames) with lossy: transcode", async () => {
  const custom = REGISTRY.compileCustom({
    name: "pixel-sonosite",
    description: "pixel with a template for the SonoSite Turbo cine",
    version: "1",
    extends: "pixel",
    pixel: {
      detector: false,
      lossy: "transcode",
      templates: [
        { manufacturer: "SonoSite, Inc.", model: "Turbo", rows: 240, columns: 320, boxes: [[0, 0, 320, 20]] },
      ],
    },
    rules: [],
  }) as Plan;
  const input = corpusFile("us-multiframe-jpeg-baseline-ybr.dcm");
  const out = await throughEngine(input, custom);
  const written = readPart10(out.output);
  const original = readPart10(input);
  const CHANGED = new Set([...METHOD, tagOf(0x0028, 0x0004), tagOf(0x0028, 0x2114)]);

  it("is written as JPEG Lossless SV1, RGB, method added; every frame exact outside the box", () => {
    expect(written.transferSyntax.uid).toBe("1.2.840.10008.1.2.4.70");
    expect(out.transferSyntaxUID).toBe("1.2.840.10008.1.2.4.70");
    expect(text(written.dataset, tagOf(0x0028, 0x0004))).toBe("RGB");
    expect(text(written.dataset, tagOf(0x0028, 0x2110))).toBe("01");
    expect(text(written.dataset, tagOf(0x0028, 0x2114))).toBe("ISO_10918_1");
    const before = decodeFrames(original.dataset, original.transferSyntax).frames;
    const after = decodeFrames(written.dataset, written.transferSyntax).frames;
    expect(after).toHaveLength(30);
    const rowBytes = 320 * 3;
    after.forEach((f, i) => {
      expect(f.subarray(0, 22 * rowBytes).every((v) => v === 0)).toBe(true);
      expect(
        Buffer.compare(f.subarray(22 * rowBytes), before[i]!.subarray(22 * rowBytes)),
        `frame ${i + 1}`,
      ).toBe(0);
    });
  });
  it("changes nothing else in the header, and audits each change", () => {
    const ref = anonymizeInstance(input, { plan: hipaaAllowingFlag, uids: new UidMapper(SECRET) });
    const reference = readPart10((ref as AnonymizedInstance).output);
    sameElements(
      written.dataset.filter((e) => !CHANGED.has(e.tag)),
      reference.dataset.filter((e) => !CHANGED.has(e.tag)),
    );
    const audited = out.changes
      .filter((c) => c.action === "replace" && /the Clean Pixel Data step wrote/.test(c.reason ?? ""))
      .map((c) => [c.keyword, c.before, c.after]);
    expect(audited).toEqual([
      ["PhotometricInterpretation", "YBR_FULL_422", "RGB"],
      ["LossyImageCompressionMethod", "", "ISO_10918_1"],
    ]);
    expect(out.changes.filter((c) => c.action === "cleanPixel")).toHaveLength(30);
  });
  it('lossy: "refuse" refuses the same instance with PIXEL_LOSSY_REFUSED', async () => {
    const refusing = REGISTRY.compileCustom({
      name: "pixel-sonosite-refuse",
      description: "same, refusing",
      version: "1",
      extends: "pixel",
      pixel: {
        detector: false,
        lossy: "refuse",
        templates: [
          {
            manufacturer: "SonoSite, Inc.",
            model: "Turbo",
            rows: 240,
            columns: 320,
            boxes: [[0, 0, 320, 20]],
          },
        ],
      },
      rules: [],
    }) as Plan;
    const pixel = await runPixelStep(input, refusing);
    expect(pixel).toMatchObject({ status: "refused", code: "PIXEL_LOSSY_REFUSED" });
    expect(anonymizeInstance(input, { plan: refusing, uids: new UidMapper(SECRET), pixel })).toMatchObject({
      status: "failed",
      code: "PIXEL_LOSSY_REFUSED",
    });
  });
});
