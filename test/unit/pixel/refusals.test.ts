/**
 * Every PIXEL_* refusal the engine can give, triggered on real files (or real files with one
 * attribute edited) through the whole engine, as a user meets it: the instance fails with the code,
 * and the failure reason names no value of the instance (no text value of four characters or more
 * from anywhere in its dataset, defined terms (CS) aside, appears in it).
 *
 * Reached only from inside (no test here, see the report): PIXEL_TEMPLATE_OUT_OF_FRAME (profile
 * validation rejects a template box outside its rows x columns, and templates match only frames of
 * that size; redact.test.ts triggers it on a compiled config), PIXEL_VERIFY (the re-decoded output
 * differs from the redacted frames: a guard against codec bugs that no input reaches with the
 * native and RLE codecs), PIXEL_UNSUPPORTED_BITS for float pixels (an instance with only Float Pixel
 * Data (7FE0,0008/0009) is outside every pixel scope, which needs (7FE0,0010)).
 */
import { describe, expect, it } from "vitest";
import fs from "node:fs";
import path from "node:path";
import type { DataElement } from "../../../src/dicom/element.js";
import { readPart10, writePart10 } from "../../../src/dicom/part10.js";
import { PIXEL_DATA, SOP_CLASS_UID, SOP_INSTANCE_UID, tagOf } from "../../../src/dicom/tag.js";
import { asciiValue } from "../../../src/dicom/values.js";
import { corpusFile, REALWORLD_DIR } from "../../helpers/corpus.js";
import { anonymize, PIXEL_TEMPLATES, REGISTRY } from "../../helpers/engine.js";

/** Code strings (CS) are defined terms such as PALETTE COLOR, which a reason may name. */
const TEXT_VRS = new Set([
  "PN",
  "LO",
  "SH",
  "LT",
  "ST",
  "UT",
  "DA",
  "DT",
  "TM",
  "UI",
  "AE",
  "AS",
  "IS",
  "DS",
  "UC",
]);

/** Every text value (each of a multi-valued one too) of four characters or more, in sequences too. */
function textValues(ds: readonly DataElement[], out: Set<string> = new Set()): Set<string> {
  for (const e of ds) {
    if (e.value && TEXT_VRS.has(e.vr))
      for (const v of asciiValue(e.value).split("\\")) if (v.trim().length >= 4) out.add(v.trim());
    for (const item of e.items ?? []) textValues(item.elements, out);
  }
  return out;
}

/** The instance through the engine: it must fail with `code`, and its reason must name no value. */
function refusal(
  input: Buffer,
  code: string,
  profile: Parameters<typeof anonymize>[1] = PIXEL_TEMPLATES,
): string {
  const outcome = anonymize(input, profile);
  if (outcome.status !== "failed") throw new Error(`expected ${code}, the instance was de-identified`);
  expect(outcome.code).toBe(code);
  const values = textValues(readPart10(input).dataset);
  expect(values.size).toBeGreaterThan(10);
  for (const v of values) expect(outcome.reason, `the reason names a value`).not.toContain(v);
  return outcome.reason;
}

/** A real file with its dataset edited, written back as Part 10 in its own transfer syntax. */
function edited(input: Buffer, edit: (ds: DataElement[]) => DataElement[]): Buffer {
  const parsed = readPart10(input);
  const ds = edit([...parsed.dataset]);
  const uid = (tag: number) => asciiValue(ds.find((e) => e.tag === tag)?.value).trim();
  return writePart10({
    dataset: ds,
    transferSyntax: parsed.transferSyntax,
    sopClassUid: uid(SOP_CLASS_UID),
    sopInstanceUid: uid(SOP_INSTANCE_UID),
  });
}

const replace = (tag: number, value: Uint8Array) => (ds: DataElement[]) =>
  ds.map((e) => (e.tag === tag ? { ...e, value } : e));

const scoped = (modality: string) =>
  REGISTRY.compileCustom({
    name: "pixel-scope",
    description: "pixel with one more modality in scope",
    version: "1",
    extends: "pixel",
    pixel: {
      detector: false,
      scope: { modalities: [modality], sopClasses: [], burnedInAnnotationYes: true },
    },
    rules: [],
  });

describe("every PIXEL_* refusal, through the engine, names no value", () => {
  it("PIXEL_UNSUPPORTED_SYNTAX: a real US cine whose syntax says JPEG 2000 Part 2 (no codec)", () => {
    const input = corpusFile("us-multiframe-jpeg-baseline-ybr.dcm");
    const at = input.indexOf("1.2.840.10008.1.2.4.50");
    expect(at).toBeGreaterThan(128);
    input.write("1.2.840.10008.1.2.4.92", at, "latin1"); // same length: nothing else moves
    expect(refusal(input, "PIXEL_UNSUPPORTED_SYNTAX")).toMatch(/transfer syntax/);
  });

  it("PIXEL_UNSUPPORTED_BITS: a 1-bit SEG in a scope that takes SEG", () => {
    expect(refusal(corpusFile("seg-liver-explicit-le.dcm"), "PIXEL_UNSUPPORTED_BITS", scoped("SEG"))).toMatch(
      /Bits Allocated/,
    );
  });

  it("PIXEL_UNSUPPORTED_PHOTOMETRIC: a native ultrasound whose Photometric Interpretation says YBR_PARTIAL_420", () => {
    const input = edited(
      fs.readFileSync(
        path.join(REALWORLD_DIR, "dcm4che_dcm4che__dcm4che-test-data_src_main_resources_YBR_422.dcm"),
      ),
      replace(tagOf(0x0028, 0x0004), Buffer.from("YBR_PARTIAL_420 ")),
    );
    // A custom profile without templates for it: the photometric check comes first anyway.
    expect(refusal(input, "PIXEL_UNSUPPORTED_PHOTOMETRIC")).toMatch(/Photometric Interpretation/);
  });

  it("PIXEL_MODULE: a PALETTE COLOR ultrasound without its red LUT data", () => {
    const input = edited(corpusFile("us-philips-palette-rle.dcm"), (ds) =>
      ds.filter((e) => e.tag !== tagOf(0x0028, 0x1201)),
    );
    expect(refusal(input, "PIXEL_MODULE")).toMatch(/PALETTE COLOR/);
  });

  it("PIXEL_MODULE: Samples per Pixel 3 on a MONOCHROME2 ultrasound", () => {
    const three = Buffer.alloc(2);
    three.writeUInt16LE(3);
    const input = edited(
      corpusFile("us-burned-in-yes-philips-phi.dcm"),
      replace(tagOf(0x0028, 0x0002), three),
    );
    expect(refusal(input, "PIXEL_MODULE")).toMatch(/Samples per Pixel/);
  });

  it("PIXEL_DATA_LENGTH: the Philips US with its Pixel Data two bytes short", () => {
    const input = edited(corpusFile("us-burned-in-yes-philips-phi.dcm"), (ds) =>
      ds.map((e) => (e.tag === PIXEL_DATA ? { ...e, value: e.value!.subarray(0, e.value!.length - 2) } : e)),
    );
    expect(refusal(input, "PIXEL_DATA_LENGTH")).toMatch(/fewer bytes/);
  });

  it("PIXEL_CODEC_ERROR: the RLE palette US with its segment count corrupted", () => {
    const input = edited(corpusFile("us-philips-palette-rle.dcm"), (ds) =>
      ds.map((e) => {
        if (e.tag !== PIXEL_DATA) return e;
        const fragments = Buffer.from(e.fragments!);
        // Item 1 is the (empty or not) offset table; the first frame's RLE header follows it.
        const offsetTableLength = fragments.readUInt32LE(4);
        const header = 8 + offsetTableLength + 8;
        fragments.writeUInt32LE(7, header); // 7 segments for 8-bit, one-sample frames: invalid
        return { ...e, fragments };
      }),
    );
    expect(refusal(input, "PIXEL_CODEC_ERROR")).toMatch(/RLE/);
  });

  it("PIXEL_NO_TEXT_FINDER: an ultrasound no device template matches, under pixel (no detector)", () => {
    expect(refusal(corpusFile("us-multiframe-acuson-implicit-large.dcm"), "PIXEL_NO_TEXT_FINDER")).toMatch(
      /template/,
    );
  });

  it("the reasons' value check can fail: a reason holding a value is caught", () => {
    const values = textValues(readPart10(corpusFile("us-burned-in-yes-philips-phi.dcm")).dataset);
    const name = [...values].find((v) => /ZZZ|TEST/i.test(v));
    expect(name).toBeDefined();
    expect(() => expect(`refused for ${name}`).not.toContain(name)).toThrow();
  });
});
