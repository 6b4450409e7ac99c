/**
 * The pixel step on real corpus files: every sample inside a box holds the photometric
 * interpretation's black, every sample outside equals the original decode, the re-encoded Pixel Data
 * decodes back in our codec, and refusals carry PIXEL_* codes.
 */
import { describe, expect, it } from "vitest";
import type { DataElement } from "../../../src/dicom/element.js";
import { readPart10 } from "../../../src/dicom/part10.js";
import { transferSyntaxOf } from "../../../src/dicom/transfer-syntax.js";
import { tagOf } from "../../../src/dicom/tag.js";
import { asciiValue } from "../../../src/dicom/values.js";
import type { PixelConfig } from "../../../src/pixel/config.js";
import { cleanPixelData, decodeFrames, PixelError } from "../../../src/pixel/index.js";
import { corpusFile } from "../../helpers/corpus.js";

const text = (ds: readonly DataElement[], g: number, e: number): string =>
  asciiValue(ds.find((x) => x.tag === tagOf(g, e))?.value).trim();

function configFor(ds: readonly DataElement[], rows: number, cols: number, box: number[]): PixelConfig {
  return {
    detector: false,
    padding: 0,
    scope: { modalities: [], sopClasses: [], burnedInAnnotationYes: true },
    unmatched: "reject",
    lossy: "refuse",
    templates: [
      {
        manufacturer: text(ds, 0x0008, 0x0070),
        model: text(ds, 0x0008, 0x1090),
        rows,
        columns: cols,
        boxes: [box as unknown as readonly [number, number, number, number]],
      },
    ],
  };
}

/** The black each sample gets, derived here from the PS3.3 definitions, not from src/pixel. */
function expectedFill(pi: string, signed: boolean, bitsStored: number, bitsAllocated: number): number[] {
  const container = (v: number): number => (v < 0 ? 2 ** bitsAllocated + v : v);
  if (pi === "MONOCHROME1") return [signed ? 2 ** (bitsStored - 1) - 1 : 2 ** bitsStored - 1];
  if (pi === "MONOCHROME2") return [signed ? container(-(2 ** (bitsStored - 1))) : 0];
  if (pi === "RGB") return [0, 0, 0];
  if (pi === "YBR_FULL") return [0, 2 ** (bitsStored - 1), 2 ** (bitsStored - 1)];
  return [0]; // PALETTE COLOR: the CX50 palette's darkest entry is index 0
}

function sample(f: Uint8Array, o: number, bps: number): number {
  let v = 0;
  for (let i = bps - 1; i >= 0; i--) v = v * 256 + f[o + i]!;
  return v;
}

const FILES = [
  "charset-latin1-french", // 8-bit MONOCHROME2
  "cr-agfa-private", // MONOCHROME1 16-bit
  "ct-enhanced-multiframe-explicit-le", // multi-frame
  "ct-explicit-be-ge", // Big Endian, signed 16-bit
  "ct-implicit-le-ge", // signed, implicit
  "dx-request-attributes-odd-pixel", // MONOCHROME1 8-bit, odd length
  "mr-small-padded-pixeldata", // padded value
  "rtdose-rle-multiframe", // RLE 32-bit, 15 frames
  "sc-deflate", // deflated
  "sc-rgb-odd-size-explicit-le", // RGB
  "sm-wsi-tiled", // RGB multi-frame
  "us-burned-in-yes-philips-phi",
  "us-multiframe-acuson-implicit-large", // RGB 8 frames
  "us-philips-palette-rle", // RLE PALETTE COLOR
  "us-rgb-explicit-be", // RGB Big Endian
];

describe("redaction on corpus files: inside = black, outside = original", () => {
  for (const name of FILES) {
    it(name, () => {
      const parsed = readPart10(corpusFile(`${name}.dcm`));
      const before = decodeFrames(parsed.dataset, parsed.transferSyntax);
      const px = before.module;
      const box = [
        Math.floor(px.cols / 4),
        Math.floor(px.rows / 4),
        Math.ceil(px.cols / 2),
        Math.ceil(px.rows / 2),
      ];
      const result = cleanPixelData(
        parsed.dataset,
        parsed.transferSyntax,
        configFor(parsed.dataset, px.rows, px.cols, box),
      );
      expect(result.boxes).toHaveLength(px.frames);
      expect(result.boxes[0]).toEqual({
        frame: 1,
        x: box[0],
        y: box[1],
        width: box[2],
        height: box[3],
        source: "template",
      });
      const ds = parsed.dataset.map((e) => (e.tag === 0x7fe00010 ? result.element : e));
      const after = decodeFrames(ds, parsed.transferSyntax);
      const fill = expectedFill(
        text(parsed.dataset, 0x0028, 0x0004),
        px.signed,
        px.bitsStored,
        px.bitsAllocated,
      );
      const bps = px.bitsAllocated / 8;
      let inside = 0;
      let outside = 0;
      for (let f = 0; f < px.frames; f++) {
        const a = before.frames[f]!;
        const b = after.frames[f]!;
        expect(b.length).toBe(a.length);
        for (let y = 0; y < px.rows; y++)
          for (let x = 0; x < px.cols; x++)
            for (let s = 0; s < px.spp; s++) {
              const o = before.planar
                ? (s * px.rows * px.cols + y * px.cols + x) * bps
                : ((y * px.cols + x) * px.spp + s) * bps;
              const isInside = x >= box[0]! && x < box[0]! + box[2]! && y >= box[1]! && y < box[1]! + box[3]!;
              if (isInside) {
                if (sample(b, o, bps) !== fill[s]) throw new Error(`frame ${f + 1} (${x},${y}) not filled`);
                inside++;
              } else {
                if (sample(b, o, bps) !== sample(a, o, bps))
                  throw new Error(`frame ${f + 1} (${x},${y}) changed`);
                outside++;
              }
            }
      }
      expect(inside).toBeGreaterThan(0);
      expect(outside).toBeGreaterThan(0);
      // Native values keep their length, padding bytes included.
      if (!parsed.transferSyntax.encapsulated) {
        const original = parsed.dataset.find((e) => e.tag === 0x7fe00010)!;
        expect(result.element.value!.length).toBe(original.value!.length);
        expect(result.element.vr).toBe(original.vr);
      }
    });
  }
});

describe("refusals", () => {
  const refuse = (name: string, config?: Partial<PixelConfig>): string => {
    const parsed = readPart10(corpusFile(`${name}.dcm`));
    const base = configFor(parsed.dataset, 1, 1, [0, 0, 1, 1]);
    try {
      cleanPixelData(parsed.dataset, parsed.transferSyntax, { ...base, ...config });
    } catch (error) {
      expect(error).toBeInstanceOf(PixelError);
      return (error as PixelError).code;
    }
    return "none";
  };
  it("a compressed syntax without a codec here (MPEG-2, JPEG XL, deflated image): refused", () => {
    const parsed = readPart10(corpusFile("us-philips-jpeg-lossless-sv1.dcm"));
    const config = configFor(parsed.dataset, 768, 1024, [0, 0, 1, 1]);
    for (const uid of ["1.2.840.10008.1.2.4.100", "1.2.840.10008.1.2.4.110", "1.2.840.10008.1.2.8.1"])
      expect(() => cleanPixelData(parsed.dataset, transferSyntaxOf(uid)!, config), uid).toThrow(
        expect.objectContaining({ code: "PIXEL_UNSUPPORTED_SYNTAX" }),
      );
  });
  it("a compressed syntax whose codec was not loaded (no loadCodecs): refused, not passed", () => {
    for (const name of [
      "us-philips-jpeg-lossless-sv1",
      "mr-small-jpeg-ls-lossless",
      "mr-siemens-csa-jpeg2000-lossless",
    ])
      expect(refuse(name, { unmatched: "pass" }), name).toBe("PIXEL_CODEC_ERROR");
  });
  it("1-bit SEG: unsupported bit depth", () => {
    expect(refuse("seg-liver-explicit-le")).toBe("PIXEL_UNSUPPORTED_BITS");
  });
  it("no template for the device and frame size: refused, not passed", () => {
    expect(refuse("us-multiframe-acuson-implicit-large")).toBe("PIXEL_NO_TEXT_FINDER");
  });
  it("detector asked for in a compiled config: refused (not in this build)", () => {
    expect(refuse("us-burned-in-yes-philips-phi", { detector: true })).toBe("PIXEL_NO_TEXT_FINDER");
  });
  it("a template rectangle outside the frame", () => {
    const parsed = readPart10(corpusFile("us-burned-in-yes-philips-phi.dcm"));
    const config = configFor(parsed.dataset, 768, 1024, [1000, 0, 100, 10]);
    expect(() => cleanPixelData(parsed.dataset, parsed.transferSyntax, config)).toThrow(
      expect.objectContaining({ code: "PIXEL_TEMPLATE_OUT_OF_FRAME" }),
    );
  });
  it("Pixel Data shorter than its frames", () => {
    const parsed = readPart10(corpusFile("us-burned-in-yes-philips-phi.dcm"));
    const ds = parsed.dataset.map((e) =>
      e.tag === 0x7fe00010 ? { ...e, value: e.value!.subarray(0, e.value!.length - 2) } : e,
    );
    expect(() => cleanPixelData(ds, parsed.transferSyntax, configFor(ds, 768, 1024, [0, 0, 1, 1]))).toThrow(
      expect.objectContaining({ code: "PIXEL_DATA_LENGTH" }),
    );
  });
});
