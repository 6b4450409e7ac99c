/**
 * The pixel step on every compressed syntax of the corpus, with the real WASM codecs: after
 * redaction every sample outside the boxes equals the original decode and every sample inside holds
 * the fill; lossless syntaxes stay in their syntax (4.57 SV1, 4.70, 4.80, 4.81 NEAR=0, 4.90, 4.91
 * reversible, HTJ2K); lossy JPEG follows the profile's `lossy` policy; a corrupted frame is
 * PIXEL_CODEC_ERROR.
 */
import fs from "node:fs";
import { beforeAll, describe, expect, it } from "vitest";
import type { DataElement } from "../../../src/dicom/element.js";
import { readPart10 } from "../../../src/dicom/part10.js";
import { tagOf } from "../../../src/dicom/tag.js";
import { transferSyntaxOf, type TransferSyntax } from "../../../src/dicom/transfer-syntax.js";
import { asciiValue } from "../../../src/dicom/values.js";
import { loadCodecs } from "../../../src/pixel/codecs.js";
import { encodeHtj2kLossless } from "../../../src/pixel/codecs/htj2k.js";
import type { PixelConfig, Rect } from "../../../src/pixel/config.js";
import { encapsulate } from "../../../src/pixel/frames.js";
import { cleanPixelData, decodeFrames } from "../../../src/pixel/index.js";
import { corpusFile, REALWORLD } from "../../helpers/corpus.js";
import { checkRedaction, configFor } from "./codecs-helpers.js";

const PIXEL_DATA = 0x7fe00010;
const ts = (suffix: string): TransferSyntax => transferSyntaxOf(`1.2.840.10008.1.2.${suffix}`)!;
const text = (ds: readonly DataElement[], g: number, e: number): string =>
  asciiValue(ds.find((x) => x.tag === tagOf(g, e))?.value).trim();

beforeAll(async () => {
  for (const s of ["4.50", "4.80", "4.90", "4.201"]) await loadCodecs(ts(s));
});

/** A box in the middle of the frame, with odd edges (not block-aligned). */
function middleBox(rows: number, cols: number): Rect {
  return [
    Math.floor(cols / 4) + 3,
    Math.floor(rows / 4) + 1,
    Math.ceil(cols / 3) + 1,
    Math.ceil(rows / 5) + 1,
  ];
}

function clean(name: string, lossy: PixelConfig["lossy"] = "transcode") {
  const parsed = readPart10(corpusFile(`${name}.dcm`));
  const { module: px } = decodeFrames(parsed.dataset, parsed.transferSyntax);
  const box = middleBox(px.rows, px.cols);
  const result = cleanPixelData(
    parsed.dataset,
    parsed.transferSyntax,
    configFor(parsed.dataset, px.rows, px.cols, [box], lossy),
  );
  return { parsed, px, box, result };
}

describe("lossless re-encoding inside the input's syntax", () => {
  it.each([
    ["ct-enhanced-multiframe-jpeg-lossless-p14", "4.57"], // P14 predictor != 1 -> SV1 inside 4.57, no BOT, fragmented
    ["pt-ge-jpeg-lossless", "4.70"], // 16-bit signed
    ["mr-siemens-csa-jpeg-lossless-sv1", "4.70"],
    ["us-philips-jpeg-lossless-sv1", "4.70"], // 8-bit ultrasound
    ["mg-ge-senographe-large", "4.70"], // 2394 x 3062 12-bit
    ["mr-small-jpeg-ls-lossless", "4.80"],
    ["ct-enhanced-multiframe-jpeg-ls-near-lossless", "4.81"], // NEAR=0 inside 4.81
    ["mr-siemens-csa-jpeg2000-lossless", "4.90"],
    ["cr-jpeg2000-lossy", "4.91"], // MONOCHROME1, reversible inside 4.91
    ["nm-jpeg2000-lossy-ge-genie", "4.91"], // signed 16-bit
  ])("%s (%s): outside = original, inside = fill, same syntax", (name, syntax) => {
    const { parsed, px, box, result } = clean(name);
    expect(parsed.transferSyntax.uid).toBe(`1.2.840.10008.1.2.${syntax}`);
    expect(result.transferSyntax).toBeUndefined();
    expect(result.attributes).toBeUndefined();
    expect(result.boxes).toHaveLength(px.frames);
    const { inside, outside } = checkRedaction(parsed, result, [box]);
    expect(inside).toBeGreaterThan(0);
    expect(outside).toBeGreaterThan(inside);
    // One fragment per frame and a Basic Offset Table now.
    const items = Buffer.from(result.element.fragments!);
    expect(items.readUInt32LE(4)).toBe(4 * px.frames);
  });

  it("frames without boxes keep their encoded bytes", () => {
    const parsed = readPart10(corpusFile("mr-small-jpeg-ls-lossless.dcm"));
    const config = { ...configFor(parsed.dataset, 64, 64, []), unmatched: "pass" as const, templates: [] };
    const result = cleanPixelData(parsed.dataset, parsed.transferSyntax, config);
    const before = parsed.dataset.find((e) => e.tag === PIXEL_DATA)!.fragments!;
    // Same single fragment; only the offset table may differ.
    const frag = (b: Uint8Array): Buffer => {
      const v = Buffer.from(b);
      const botLength = v.readUInt32LE(4);
      const at = 8 + botLength;
      return v.subarray(at + 8, at + 8 + v.readUInt32LE(at + 4));
    };
    expect(frag(result.element.fragments!).equals(frag(before))).toBe(true);
  });

  it.each([
    ["4.201", false],
    ["4.202", true],
    ["4.203", false],
  ] as const)("HTJ2K %s (frames encoded here from a corpus J2K file)", (syntax, rpcl) => {
    const source = readPart10(corpusFile("mr-siemens-csa-jpeg2000-lossless.dcm"));
    const { frames, module: px } = decodeFrames(source.dataset, source.transferSyntax);
    const layout = { ...px, photometric: px.photometric };
    const element: DataElement = {
      tag: PIXEL_DATA,
      vr: "OB",
      fragments: encapsulate(frames.map((f) => encodeHtj2kLossless(f, layout, rpcl))),
      undefinedLength: true,
    };
    const parsed = {
      dataset: source.dataset.map((e) => (e.tag === PIXEL_DATA ? element : e)),
      transferSyntax: ts(syntax),
    };
    // Our own HTJ2K stream decodes (through OpenJPEG) to the J2K file's samples.
    expect(Buffer.compare(decodeFrames(parsed.dataset, parsed.transferSyntax).frames[0]!, frames[0]!)).toBe(
      0,
    );
    const box = middleBox(px.rows, px.cols);
    const result = cleanPixelData(
      parsed.dataset,
      parsed.transferSyntax,
      configFor(parsed.dataset, px.rows, px.cols, [box]),
    );
    expect(result.transferSyntax).toBeUndefined();
    expect(checkRedaction(parsed, result, [box]).inside).toBeGreaterThan(0);
  });
});

describe("colour JPEG 2000 / HTJ2K (real-world files): decoded as RGB, written with RCT", () => {
  it.each([
    ["pydicom_pydicom-data__data_store_data_US1_J2KR.dcm", "YBR_RCT", undefined], // stays
    ["pydicom_pydicom-data__data_store_data_HTJ2KLossless_08_RGB.dcm", "RGB", "YBR_RCT"],
    ["pydicom_pydicom-data__data_store_data_HTJ2K_08_RGB.dcm", "RGB", "YBR_RCT"],
  ])("%s (%s)", (file, pi, after) => {
    const parsed = readPart10(fs.readFileSync(REALWORLD.find((e) => e.file === file)!.path));
    const { module: px } = decodeFrames(parsed.dataset, parsed.transferSyntax);
    expect(px.photometric).toBe("RGB");
    const box = middleBox(px.rows, px.cols);
    const result = cleanPixelData(
      parsed.dataset,
      parsed.transferSyntax,
      configFor(parsed.dataset, px.rows, px.cols, [box]),
    );
    expect(result.transferSyntax).toBeUndefined();
    expect(result.attributes?.map((a) => [a.keyword, a.before, a.after])).toEqual(
      after ? [["PhotometricInterpretation", pi, after]] : undefined,
    );
    expect(checkRedaction(parsed, result, [box]).inside).toBe(box[2] * box[3] * 3);
  });
});

describe("lossy JPEG (4.50, 4.51): DCT-domain edit, or the profile's policy", () => {
  it.each([
    ["us-multiframe-jpeg-baseline-ybr", "YBR_FULL_422"], // 30 frames, SOF 4:2:0
    ["sc-rgb-jpeg-baseline-utf8", "YBR_FULL"],
    ["ct-enhanced-multiframe-jpeg-extended", "MONOCHROME2"], // 12-bit, no BOT, fragmented
  ])("%s: the redaction contract holds, whichever path ran", (name, pi) => {
    const { parsed, px, box, result } = clean(name, "transcode");
    expect(text(parsed.dataset, 0x0028, 0x0004)).toBe(pi);
    const { inside } = checkRedaction(parsed, result, [box]);
    expect(inside).toBeGreaterThan(0);
    const attrs = Object.fromEntries((result.attributes ?? []).map((a) => [a.keyword, a]));
    if (result.transferSyntax) {
      // Transcoded (the DCT-domain redactor could not edit these frames): JPEG Lossless SV1, the
      // lossy history kept, the colour now RGB as decoded.
      expect(result.transferSyntax.uid).toBe("1.2.840.10008.1.2.4.70");
      expect(attrs.LossyImageCompression).toBeUndefined(); // already 01 in all three
      const method = text(parsed.dataset, 0x0028, 0x2114);
      if (method) expect(attrs.LossyImageCompressionMethod).toBeUndefined();
      else expect(attrs.LossyImageCompressionMethod?.after).toBe("ISO_10918_1");
      if (pi.startsWith("YBR"))
        expect(attrs.PhotometricInterpretation).toMatchObject({ before: pi, after: "RGB" });
      else expect(attrs.PhotometricInterpretation).toBeUndefined();
      expect(result.boxes.filter((b) => b.frame === 1)).toEqual([
        { frame: 1, x: box[0], y: box[1], width: box[2], height: box[3], source: "template" },
      ]);
    } else {
      // Edited in the DCT domain: same syntax, no attribute changes, audit boxes cover the request.
      expect(result.attributes).toBeUndefined();
      for (let f = 1; f <= px.frames; f++) {
        const changed = result.boxes.filter((b) => b.frame === f);
        expect(changed.length).toBeGreaterThan(0);
      }
    }
  });
});

describe("a header whose Bits Stored is below the codestream's precision", () => {
  it.each([["mr-siemens-csa-jpeg2000-lossless"], ["mr-siemens-csa-jpeg-lossless-sv1"]])(
    "%s relabelled 8 bits stored: re-encoded at the precision its samples need, not refused",
    (name) => {
      const parsed = readPart10(corpusFile(`${name}.dcm`));
      const us = (v: number): Buffer => Buffer.from([v, 0]);
      const dataset = parsed.dataset.map((e) =>
        e.tag === tagOf(0x0028, 0x0101)
          ? { ...e, value: us(8) }
          : e.tag === tagOf(0x0028, 0x0102)
            ? { ...e, value: us(7) }
            : e,
      );
      const relabelled = { dataset, transferSyntax: parsed.transferSyntax };
      const { frames, module: px } = decodeFrames(dataset, parsed.transferSyntax);
      expect(frames[0]!.some((v, i) => i % 2 === 1 && v > 0)).toBe(true); // samples above 255
      const box = middleBox(px.rows, px.cols);
      const result = cleanPixelData(
        dataset,
        parsed.transferSyntax,
        configFor(dataset, px.rows, px.cols, [box]),
      );
      expect(checkRedaction(relabelled, result, [box]).inside).toBeGreaterThan(0);
    },
  );
});

describe("codec errors", () => {
  it.each([
    ["us-philips-jpeg-lossless-sv1", "JPEG"],
    ["mr-small-jpeg-ls-lossless", "JPEG-LS"],
    ["mr-siemens-csa-jpeg2000-lossless", "JPEG 2000"],
    ["us-multiframe-jpeg-baseline-ybr", "JPEG baseline"],
  ])("%s: a truncated %s frame is PIXEL_CODEC_ERROR, never samples", (name) => {
    const parsed = readPart10(corpusFile(`${name}.dcm`));
    const pixel = parsed.dataset.find((e) => e.tag === PIXEL_DATA)!;
    const frames = Number(text(parsed.dataset, 0x0028, 0x0008) || "1");
    // The first 64 bytes of the codestream as every frame (headers intact, entropy-coded data cut).
    const items = Buffer.from(pixel.fragments!);
    const first = 8 + items.readUInt32LE(4);
    const head = items.subarray(first + 8, first + 8 + 64);
    const broken: DataElement = {
      ...pixel,
      fragments: encapsulate(Array.from({ length: frames }, () => head)),
    };
    const ds = parsed.dataset.map((e) => (e.tag === PIXEL_DATA ? broken : e));
    expect(() => decodeFrames(ds, parsed.transferSyntax)).toThrow(
      expect.objectContaining({ code: "PIXEL_CODEC_ERROR" }),
    );
  });

  it("a codec failure message names the codec, never a number or a value", () => {
    const parsed = readPart10(corpusFile("mr-small-jpeg-ls-lossless.dcm"));
    const pixel = parsed.dataset.find((e) => e.tag === PIXEL_DATA)!;
    const broken: DataElement = {
      ...pixel,
      fragments: encapsulate([Uint8Array.of(0xff, 0xd8, 0xff, 0xf7, 0, 0)]),
    };
    const ds = parsed.dataset.map((e) => (e.tag === PIXEL_DATA ? broken : e));
    try {
      decodeFrames(ds, parsed.transferSyntax);
      expect.unreachable();
    } catch (error) {
      expect((error as Error).message).toMatch(/JPEG-LS/);
      expect((error as Error).message).not.toMatch(/\d{4,}/);
    }
  });
});
