/**
 * JPEG 4.50/4.51 around the DCT-domain redactor (src/pixel/jpeg-dct), whatever state it is in: the
 * redactor is replaced here by a controlled double so both sides of its contract are exercised with
 * the real decoders: a redactor that throws PixelError -> the profile's `lossy` policy ("transcode" to
 * 4.70, or PIXEL_LOSSY_REFUSED); one that returns a stream breaking the contract -> PIXEL_VERIFY; one
 * that keeps it -> accepted, and the audit lists its `changed` rectangles (not the requested boxes).
 */
import { beforeAll, beforeEach, describe, expect, it, vi } from "vitest";
import { readPart10 } from "../../../src/dicom/part10.js";
import { loadCodecs } from "../../../src/pixel/codecs.js";
import type { Rect } from "../../../src/pixel/config.js";
import { PixelError } from "../../../src/pixel/errors.js";
import { cleanPixelData, decodeFrames } from "../../../src/pixel/index.js";
import { checkRedaction, configFor, corpusFile, requireCjsForTests } from "./codecs-helpers.js";

type Redactor = (jpeg: Uint8Array, boxes: readonly Rect[], fill: "black" | "white") => unknown;
const double = vi.hoisted(() => ({ redact: undefined as unknown as Redactor, calls: 0 }));
vi.mock("../../../src/pixel/jpeg-dct/index.js", () => ({
  redactJpegBlocks: (jpeg: Uint8Array, boxes: readonly Rect[], fill: "black" | "white") => {
    double.calls++;
    return double.redact(jpeg, boxes, fill);
  },
}));

beforeAll(async () => {
  await loadCodecs(readPart10(corpusFile("sc-rgb-jpeg-baseline-utf8.dcm")).transferSyntax);
});
beforeEach(() => {
  double.calls = 0;
});

const SC = "sc-rgb-jpeg-baseline-utf8"; // 100 x 100, YBR_FULL, baseline
const BOX: Rect = [21, 33, 30, 17];

function run(name: string, lossy: "transcode" | "refuse", box: Rect = BOX) {
  const parsed = readPart10(corpusFile(`${name}.dcm`));
  const { module: px } = decodeFrames(parsed.dataset, parsed.transferSyntax);
  const result = cleanPixelData(
    parsed.dataset,
    parsed.transferSyntax,
    configFor(parsed.dataset, px.rows, px.cols, [box], lossy),
  );
  return { parsed, result };
}

/** A baseline JPEG of an all-black RGB frame (libjpeg via dcmjs-codecs): a whole-frame "edit". */
function blackBaseline(rows: number, cols: number): Uint8Array {
  const { Context, NativeCodecs } = requireCjsForTests("dcmjs-codecs") as {
    Context: new (a: object) => object;
    NativeCodecs: { encodeJpeg(c: object, p: object): { getEncodedBuffer(): Uint8Array } };
  };
  const ctx = new Context({
    width: cols,
    height: rows,
    bitsAllocated: 8,
    bitsStored: 8,
    samplesPerPixel: 3,
    pixelRepresentation: 0,
    planarConfiguration: 0,
    photometricInterpretation: "RGB",
    decodedBuffer: new Uint8Array(rows * cols * 3),
  });
  return Uint8Array.from(NativeCodecs.encodeJpeg(ctx, { lossy: true, quality: 100 }).getEncodedBuffer());
}

describe("the redactor cannot edit the stream (the stub on main): the lossy policy decides", () => {
  beforeEach(() => {
    double.redact = () => {
      throw new PixelError("PIXEL_UNSUPPORTED_SYNTAX", "not available");
    };
  });
  it('"transcode": JPEG Lossless SV1, exact outside the boxes, RGB, lossy history kept', () => {
    const { parsed, result } = run(SC, "transcode");
    expect(double.calls).toBe(1);
    expect(result.transferSyntax?.uid).toBe("1.2.840.10008.1.2.4.70");
    expect(result.attributes?.map((a) => [a.keyword, a.before, a.after])).toEqual([
      ["PhotometricInterpretation", "YBR_FULL", "RGB"],
    ]);
    expect(checkRedaction(parsed, result, [BOX]).inside).toBe(30 * 17 * 3);
  });
  it('"transcode" on the 30-frame YBR_FULL_422 cine: the method is added (absent), 01 stays', () => {
    const { parsed, result } = run("us-multiframe-jpeg-baseline-ybr", "transcode");
    expect(double.calls).toBe(1); // the first refusal decides for the whole instance
    expect(result.attributes?.map((a) => [a.keyword, a.before, a.after])).toEqual([
      ["PhotometricInterpretation", "YBR_FULL_422", "RGB"],
      ["LossyImageCompressionMethod", "", "ISO_10918_1"],
    ]);
    checkRedaction(parsed, result, [BOX]);
  });
  it('"refuse": PIXEL_LOSSY_REFUSED, for 8-bit 4.50 and 12-bit 4.51', () => {
    for (const name of [SC, "ct-enhanced-multiframe-jpeg-extended"])
      expect(() => run(name, "refuse"), name).toThrow(
        expect.objectContaining({ code: "PIXEL_LOSSY_REFUSED" }),
      );
  });
  it("an error other than PixelError is not a fallback: it propagates", () => {
    double.redact = () => {
      throw new RangeError("bug");
    };
    expect(() => run(SC, "transcode")).toThrow(RangeError);
  });
});

describe("the verifier of the redactor's contract (our decoder on its output)", () => {
  it("a stream returned unedited: the boxes do not hold the fill -> PIXEL_VERIFY", () => {
    double.redact = (jpeg, boxes) => ({ jpeg, changed: boxes, changedFor: boxes.map((_, i) => i) });
    expect(() => run(SC, "refuse")).toThrow(expect.objectContaining({ code: "PIXEL_VERIFY" }));
  });
  it("samples changed outside the reported region -> PIXEL_VERIFY", () => {
    // The whole frame black, but only the requested box reported as changed.
    double.redact = (_jpeg, boxes) => ({
      jpeg: blackBaseline(100, 100),
      changed: boxes,
      changedFor: boxes.map((_, i) => i),
    });
    expect(() => run(SC, "refuse")).toThrow(expect.objectContaining({ code: "PIXEL_VERIFY" }));
  });
  it("an edit that keeps the contract is written in the same syntax; the audit lists `changed`", () => {
    double.redact = (_jpeg, _boxes, fill) => {
      expect(fill).toBe("black");
      return { jpeg: blackBaseline(100, 100), changed: [[0, 0, 100, 100]], changedFor: [0] };
    };
    const { parsed, result } = run(SC, "refuse");
    expect(result.transferSyntax).toBeUndefined();
    expect(result.attributes).toBeUndefined();
    expect(result.boxes).toEqual([{ frame: 1, x: 0, y: 0, width: 100, height: 100, source: "template" }]);
    checkRedaction(parsed, result, [BOX]);
  });
  it("MONOCHROME1 asks the redactor for white", () => {
    // No lossy MONOCHROME1 JPEG in the corpus: the 12-bit CT relabelled (the call is what is checked).
    const parsed = readPart10(corpusFile("ct-enhanced-multiframe-jpeg-extended.dcm"));
    const ds = parsed.dataset.map((e) =>
      e.tag === 0x00280004 ? { ...e, value: Buffer.from("MONOCHROME1 ") } : e,
    );
    const fills: string[] = [];
    double.redact = (_j, _b, fill) => {
      fills.push(fill);
      throw new PixelError("PIXEL_UNSUPPORTED_SYNTAX", "not available");
    };
    expect(() => cleanPixelData(ds, parsed.transferSyntax, configFor(ds, 512, 512, [BOX], "refuse"))).toThrow(
      expect.objectContaining({ code: "PIXEL_LOSSY_REFUSED" }),
    );
    expect(fills[0]).toBe("white");
  });
});
