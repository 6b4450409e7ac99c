/**
 * What a de-identifier must not change behind the user's back. dcmjs's writer, for one, re-formats
 * decimal strings, rewrites Specific Character Set to ISO_IR 192 and makes every sequence
 * undefined-length; the engine keeps the bytes of everything its profile keeps.
 */
import { describe, expect, it } from "vitest";
import { readPart10 } from "../../../src/dicom/part10.js";
import { asciiValue } from "../../../src/dicom/values.js";
import { instance, leaf, seq } from "../../helpers/build.js";
import { corpusFile } from "../../helpers/corpus.js";
import { anonymized } from "../../helpers/engine.js";

describe("fidelity of kept elements", () => {
  it("keeps decimal strings, the character set and sequence length forms exactly", () => {
    const defined = { ...seq(0x00283010, [leaf(0x00283002, "US", "")]), undefinedLength: false };
    const input = instance([
      leaf(0x00080005, "CS", "ISO_IR 100"),
      leaf(0x00280030, "DS", "1.0\\-99.00"),
      leaf(0x00181050, "DS", "+0.50E1"),
      leaf(0x00080008, "CS", "ORIGINAL\\PRIMARY"),
      defined,
      seq(0x00400260, [leaf(0x00080100, "SH", "X1")]),
    ]);
    const out = readPart10(anonymized(input, "hipaa").output).dataset;
    const get = (tag: number) => out.find((e) => e.tag === tag)!;
    expect(asciiValue(get(0x00280030).value)).toBe("1.0\\-99.00");
    expect(asciiValue(get(0x00181050).value)).toBe("+0.50E1");
    expect(asciiValue(get(0x00080005).value)).toBe("ISO_IR 100");
    expect(get(0x00283010).undefinedLength).toBe(false);
    expect(get(0x00400260).undefinedLength).toBe(true);
  });

  it("keeps an ISO 2022 Japanese file's bytes and declaration, and writes only ASCII into it", () => {
    const input = corpusFile("charset-japanese-cr-agfa-multi.dcm");
    const before = readPart10(input).dataset;
    const after = readPart10(anonymized(input, "hipaa").output).dataset;
    const charset = (d: typeof before) => Buffer.from(d.find((e) => e.tag === 0x00080005)!.value!);
    expect(charset(after).equals(charset(before))).toBe(true);
    const name = after.find((e) => e.tag === 0x00100010)!;
    expect(asciiValue(name.value)).toBe("ANON");
  });

  it("passes encapsulated pixel data through untouched, fragment for fragment", () => {
    const input = corpusFile("ct-enhanced-multiframe-jpeg-lossless-p14.dcm");
    const pixels = (buf: Buffer) =>
      Buffer.from(readPart10(buf).dataset.find((e) => e.tag === 0x7fe00010)!.fragments!);
    expect(pixels(anonymized(input, "hipaa").output).equals(pixels(input))).toBe(true);
  });

  it("writes a deflated input back deflated, and it re-reads", () => {
    const out = anonymized(corpusFile("sc-deflate.dcm"), "basic").output;
    expect(readPart10(out).transferSyntax.uid).toBe("1.2.840.10008.1.2.1.99");
  });

  it("writes Explicit VR Big Endian back as Big Endian with the same pixel bytes", () => {
    const input = corpusFile("us-rgb-explicit-be.dcm");
    const out = readPart10(anonymized(input, "hipaa").output);
    expect(out.transferSyntax.uid).toBe("1.2.840.10008.1.2.2");
    const px = (d: typeof out.dataset) => Buffer.from(d.find((e) => e.tag === 0x7fe00010)!.value!);
    expect(px(out.dataset).equals(px(readPart10(input).dataset))).toBe(true);
    expect(out.dataset.find((e) => e.tag === 0x00280010)!.value).toEqual(
      readPart10(input).dataset.find((e) => e.tag === 0x00280010)!.value,
    );
  });
});
