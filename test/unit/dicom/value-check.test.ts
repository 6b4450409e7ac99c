/** value-check.ts: each VR's repertoire and size (PS3.5 Table 6.2-1), and the swallowed-header search. */
import { describe, expect, it } from "vitest";
import { checkValue, headerRun } from "../../../src/dicom/value-check.js";
import { EXPLICIT_LE, IMPLICIT_LE } from "../../../src/dicom/transfer-syntax.js";

const b = (text: string) => Buffer.from(text, "latin1");

describe("checkValue", () => {
  const fits: Array<[string, string]> = [
    ["AE", "STORESCP "],
    ["AS", "045Y"],
    ["CS", "ORIGINAL\\PRIMARY\\AXIAL"],
    ["CS", "Mixed_case 1"], // lower case and spaces: real vendors write them, dcmtk reads them
    ["CS", "MR\0"], // NUL padding
    ["DA", "20200315"],
    ["DA", "2020.03.15"], // ACR-NEMA form
    ["DA", "20200101-20201231"], // range
    ["DS", "-1.5E+02\\3 "],
    ["DT", "20200315123000.123456+0100"],
    ["IS", " -12\\+7"],
    ["TM", "12:30:00.5"],
    ["UI", "1.2.840.10008.1.2\0"],
    ["UI", "ad111191-79e4-4892-9b91-2f84967a4b23"], // UUID-style UIDs are read by dcmtk and remapped
    ["UI", ""],
  ];
  it.each(fits)("%s %j fits", (vr, text) => {
    expect(checkValue(vr, b(text))).toBeUndefined();
  });

  const unsafe: Array<[string, string]> = [
    ["CS", "MR\u0000\u0000\u0010\u0000\u0010\u0000PN"], // header bytes inside
    ["AE", "AE\u0001TITLE"],
    ["AS", "04\u00ff5"],
    ["DA", "2020\u000003"],
    ["DS", "1.5\u0012"],
    ["IS", "1\u0080"],
    ["TM", "1230\u0009"],
    ["UI", "1.2.3\u0002"],
    ["DT", "2020\u0010"],
  ];
  it.each(unsafe)("%s with a control or non-ASCII byte is unsafe", (vr, text) => {
    expect(checkValue(vr, b(text))).toMatchObject({ unsafe: true });
  });

  const formatOnly: Array<[string, string, RegExp]> = [
    ["CS", "ABCDEFGHIJKLMNOPQ", /17 bytes exceeds the maximum 16/],
    ["AE", "A234567890123456X", /exceeds the maximum 16/],
    ["AS", "045YY", /exceeds the maximum 4/],
    ["IS", "1A", /repertoire of VR IS/],
    ["IS", "1234567890123", /exceeds the maximum 12/],
    ["DS", "12345678901234567", /exceeds the maximum 16/],
    ["DA", "***", /repertoire of VR DA/],
    ["UI", "1".repeat(65), /exceeds the maximum 64/],
    ["UI", "1.2_3", /repertoire of VR UI/],
  ];
  it.each(formatOnly)("%s %j breaks its format only", (vr, text, problem) => {
    const broken = checkValue(vr, b(text));
    expect(broken?.unsafe).toBe(false);
    expect(broken?.problem).toMatch(problem);
    expect(broken?.problem).not.toContain(text);
  });

  it.each([
    ["US", 2],
    ["SS", 2],
    ["UL", 4],
    ["SL", 4],
    ["FL", 4],
    ["AT", 4],
    ["FD", 8],
    ["SV", 8],
    ["UV", 8],
    ["OW", 2],
    ["OF", 4],
    ["OL", 4],
    ["OD", 8],
    ["OV", 8],
  ] as const)("%s: the length is a multiple of %i", (vr, width) => {
    expect(checkValue(vr, Buffer.alloc(width * 3))).toBeUndefined();
    expect(checkValue(vr, Buffer.alloc(width * 3 + 1))).toMatchObject({ unsafe: true });
  });

  it("OB, text VRs and UN take any length", () => {
    for (const vr of ["OB", "UN", "LO", "LT", "ST", "UT", "UC", "PN", "SH"])
      expect(checkValue(vr, Buffer.alloc(7, 0x41))).toBeUndefined();
  });
});

/** An Explicit VR LE element header + value. */
function explicit(group: number, element: number, vr: string, value: string): Buffer {
  const h = Buffer.alloc(8);
  h.writeUInt16LE(group, 0);
  h.writeUInt16LE(element, 2);
  h.write(vr, 4, "latin1");
  h.writeUInt16LE(value.length, 6);
  return Buffer.concat([h, b(value)]);
}

function implicit(group: number, element: number, value: string): Buffer {
  const h = Buffer.alloc(8);
  h.writeUInt16LE(group, 0);
  h.writeUInt16LE(element, 2);
  h.writeUInt32LE(value.length, 4);
  return Buffer.concat([h, b(value)]);
}

describe("headerRun", () => {
  const swallowed = Buffer.concat([
    b("CT"),
    explicit(0x0010, 0x0010, "PN", "Last^First"),
    explicit(0x0010, 0x0020, "LO", "id00001 "),
  ]);

  it("finds the run of swallowed headers after the element, up to the value's end", () => {
    expect(headerRun(swallowed, EXPLICIT_LE, 0x00080060)).toMatchObject({
      swallows: true,
      run: 2,
      tags: [0x00100010, 0x00100020],
      patientHeader: 0x00100010,
    });
    // Cut in the middle of Patient ID: the chain runs past the end, still a swallow.
    expect(headerRun(swallowed.subarray(0, swallowed.length - 3), EXPLICIT_LE, 0x00080060).swallows).toBe(
      true,
    );
  });

  it("in implicit VR, by known tags and sane lengths", () => {
    const value = Buffer.concat([
      b("CT"),
      implicit(0x0010, 0x0010, "Last^First"),
      implicit(0x0010, 0x0020, "id01"),
    ]);
    expect(headerRun(value, IMPLICIT_LE, 0x00080060)).toMatchObject({ swallows: true, run: 2 });
  });

  it("ignores headers outside the window between this element and the next one read", () => {
    // (0010,0010) is not after itself; one header that ends where the value ends still swallows.
    expect(headerRun(swallowed, EXPLICIT_LE, 0x00100010)).toMatchObject({ swallows: true, run: 1 });
    expect(headerRun(swallowed, EXPLICIT_LE, 0x00080060, 0x00100020)).toMatchObject({
      swallows: false,
      run: 1,
      patientHeader: 0x00100010,
    });
    expect(headerRun(swallowed, EXPLICIT_LE, 0x00080060, 0x00100010).run).toBe(0);
  });

  it("ignores tags the dictionary does not know, VRs it does not allow, and ordinary text", () => {
    expect(headerRun(explicit(0x4f20, 0x4646, "PN", "xx"), EXPLICIT_LE, 0x00080000).run).toBe(0);
    expect(headerRun(explicit(0x0010, 0x0010, "US", "xx"), EXPLICIT_LE, 0x00080000).run).toBe(0);
    expect(
      headerRun(b("CHEST PA and lateral, 2 views; no acute findings.".repeat(20)), EXPLICIT_LE, 0x00080000)
        .run,
    ).toBe(0);
  });

  it("a chain of headers that stops inside the value is no swallow (an embedded header, a coincidence)", () => {
    const inside = Buffer.concat([swallowed, b("trailing text of the real value")]);
    expect(headerRun(inside, EXPLICIT_LE, 0x00080060)).toMatchObject({ swallows: false, run: 2 });
  });

  // A quadratic search would take hours on 8 MiB: the test's own timeout is the guard (no speed assertion).
  it("finds nothing in 8 MiB of (seeded) random bytes or zeros", { timeout: 60_000 }, () => {
    const random = Buffer.alloc(8 * 1024 * 1024);
    let seed = 20261202;
    for (let i = 0; i < random.length; i += 4) {
      // mulberry32: the same bytes on every run
      seed = (seed + 0x6d2b79f5) | 0;
      let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
      t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
      random.writeUInt32LE((t ^ (t >>> 14)) >>> 0, i);
    }
    for (const value of [random, Buffer.alloc(random.length)])
      for (const enc of [EXPLICIT_LE, IMPLICIT_LE])
        expect(headerRun(value, enc, 0x00080000).swallows).toBe(false);
  });

  it("does not count a sequence kept as bytes (a UN that starts with an Item)", () => {
    const item = Buffer.alloc(8);
    item.writeUInt32LE(0xe000fffe, 0);
    item.writeUInt32LE(swallowed.length - 2, 4);
    expect(headerRun(Buffer.concat([item, swallowed.subarray(2)]), EXPLICIT_LE, 0x00080060).run).toBe(0);
  });
});
