/**
 * Issue 9 item 1: a wrong length that makes a kept element swallow the elements after it (and so the
 * patient's name and ID) is refused; a value that breaks its VR is emptied with an audit "repair" or
 * refuses; a length past the end stays a parse error.
 */
import { describe, expect, it } from "vitest";
import { readPart10 } from "../../../src/dicom/part10.js";
import { instance, leaf } from "../../helpers/build.js";
import { corpusFile } from "../../helpers/corpus.js";
import { anonymize, REGISTRY } from "../../helpers/engine.js";
import { findLeaks } from "../../helpers/leak-check.js";

/** Offset of an element header (tag bytes, Little Endian) after the File Meta. */
function headerOffset(buf: Buffer, group: number, element: number, from = 132): number {
  const tag = Buffer.alloc(4);
  tag.writeUInt16LE(group, 0);
  tag.writeUInt16LE(element, 2);
  const at = buf.indexOf(tag, from);
  if (at < 0) throw new Error("tag not found");
  return at;
}

/** Explicit VR LE, short header: sets the 16-bit length of the element at `at`. */
function setShortLength(buf: Buffer, at: number, length: number): Buffer {
  const out = Buffer.from(buf);
  out.writeUInt16LE(length, at + 6);
  return out;
}

const keepUnlisted = () =>
  REGISTRY.compileCustom({
    name: "t",
    description: "test",
    version: "0",
    defaults: { private: "remove", unlisted: "keep" },
    rules: [
      { tag: "(0032,1032)", action: "remove" },
      { tag: "(0032,1060)", action: "remove" },
    ],
  });

describe("a wrong length that swallows the following elements", () => {
  it("Modality (CS) swallowing Patient Name and ID in the rtplan: refused, never released", () => {
    const input = Buffer.from(corpusFile("rtplan-implicit-le.dcm"));
    const modality = headerOffset(input, 0x0008, 0x0060);
    const id = headerOffset(input, 0x0010, 0x0020);
    const idEnd = id + 8 + input.readUInt32LE(id + 4);
    input.writeUInt32LE(idEnd - (modality + 8), modality + 4); // 202: up to the end of Patient ID
    for (const profile of ["hipaa", "basic"]) {
      const outcome = anonymize(input, profile);
      expect(outcome.status).toBe("failed");
      if (outcome.status === "failed") {
        expect(outcome.reason).toMatch(/\(0008,0060\) at offset \d+ .*swallows/);
        expect(outcome.reason).not.toMatch(/Last|id00001/);
      }
    }
  });

  it("a Modality (CS) swallowing exactly Patient Name (explicit VR): refused", () => {
    const input = instance([
      leaf(0x00080060, "CS", "OT"),
      leaf(0x00100010, "PN", "Last^First"),
      leaf(0x00100020, "LO", "id00001"),
    ]);
    const at = headerOffset(input, 0x0008, 0x0060);
    const swallowing = setShortLength(input, at, 2 + 8 + 10);
    const outcome = anonymize(swallowing, "hipaa");
    expect(outcome.status).toBe("failed");
    if (outcome.status === "failed") expect(outcome.reason).toMatch(/\(0008,0060\).*swallows/);
    expect(anonymize(input, "hipaa").status).toBe("anonymized"); // the unpatched file passes
  });

  it("a kept LT (Image Comments) swallowing a removed person name and a description: refused", () => {
    const input = instance([
      leaf(0x00100010, "PN", "Last^First"),
      leaf(0x00100020, "LO", "id00001"),
      leaf(0x00204000, "LT", "comment "),
      leaf(0x00321032, "PN", "Doctor^Evil"),
      leaf(0x00321060, "LO", "procedure of Doctor Evil"),
    ]);
    const at = headerOffset(input, 0x0020, 0x4000);
    const swallowing = setShortLength(input, at, 8 + 8 + 12 + 8 + 24);
    expect(anonymize(input, keepUnlisted()).status).toBe("anonymized");
    const outcome = anonymize(swallowing, keepUnlisted());
    expect(outcome.status).toBe("failed");
    if (outcome.status === "failed") {
      expect(outcome.reason).toMatch(/\(0020,4000\).*2 element header\(s\) \(\(0032,1032\), \(0032,1060\)\)/);
      expect(outcome.reason).not.toMatch(/Doctor|Evil/);
    }
  });

  it("a kept LT swallowing exactly one element (ending where the value ends): refused", () => {
    const input = instance([leaf(0x00204000, "LT", "comment "), leaf(0x00321032, "PN", "Doctor^Evil")]);
    const swallowing = setShortLength(input, headerOffset(input, 0x0020, 0x4000), 8 + 8 + 12);
    expect(anonymize(swallowing, keepUnlisted())).toMatchObject({ status: "failed" });
  });

  it("one header of a patient attribute inside a value, while that attribute is missing: refused", () => {
    // Study Description holding the header and value of Patient ID, then more text: the chain stops
    // inside the value (no swallow by itself), but Patient ID is missing from the dataset.
    const header = "\u0010\u0000\u0020\u0000LO\u0008\u0000";
    const value = `study ${header}id000001 and more description text`;
    const withoutId = instance([leaf(0x00081030, "LO", value), leaf(0x00100030, "DA", "19700101")]);
    const outcome = anonymize(withoutId, "hipaa");
    expect(outcome).toMatchObject({
      status: "failed",
      reason: expect.stringMatching(/holds the header of \(0010,0020\), which is missing/),
    });
    // With Patient ID present, the same bytes are a coincidence: read (and cleaned by the profile).
    const withId = instance([
      leaf(0x00081030, "LO", value),
      leaf(0x00100020, "LO", "id000002"),
      leaf(0x00100030, "DA", "19700101"),
    ]);
    expect(anonymize(withId, "hipaa").status).toBe("anonymized");
  });

  it("a length running past the end is still a parse error", () => {
    const input = instance([leaf(0x00080060, "CS", "OT"), leaf(0x00100010, "PN", "Last^First")]);
    const at = headerOffset(input, 0x0010, 0x0010);
    const outcome = anonymize(setShortLength(input, at, 0xfff0), "hipaa");
    expect(outcome).toMatchObject({ status: "failed", code: "DICOM_PARSE" });
    if (outcome.status === "failed") expect(outcome.reason).toMatch(/\(0010,0010\) at offset \d+ is longer/);
  });
});

const LONG_VRS = new Set(["OB", "OD", "OF", "OL", "OV", "OW", "SQ", "SV", "UC", "UN", "UR", "UT", "UV"]);

interface Header {
  readonly at: number;
  readonly tag: number;
  readonly end: number;
  /** Where the length field is and how wide. */
  readonly lengthAt: number;
  readonly lengthBytes: 2 | 4;
}

/** Top-level headers after the File Meta, up to the first undefined length (a test-side walker). */
function headers(buf: Buffer, explicit: boolean): Header[] {
  let at = 132;
  while (buf.readUInt16LE(at) === 0x0002) {
    const long = LONG_VRS.has(buf.toString("latin1", at + 4, at + 6));
    at += long ? 12 + buf.readUInt32LE(at + 8) : 8 + buf.readUInt16LE(at + 6);
  }
  const out: Header[] = [];
  while (at + 8 <= buf.length) {
    const tag = ((buf.readUInt16LE(at) << 16) | buf.readUInt16LE(at + 2)) >>> 0;
    const long = explicit && LONG_VRS.has(buf.toString("latin1", at + 4, at + 6));
    const lengthAt = !explicit ? at + 4 : long ? at + 8 : at + 6;
    const lengthBytes = !explicit || long ? 4 : 2;
    const length = lengthBytes === 4 ? buf.readUInt32LE(lengthAt) : buf.readUInt16LE(lengthAt);
    if (length === 0xffffffff) break;
    const end = lengthAt + lengthBytes + length;
    out.push({ at, tag, end, lengthAt, lengthBytes });
    at = end;
  }
  return out;
}

describe("every top-level element of real files made to swallow 1, 2 or all the elements after it", () => {
  it.each([
    ["rtplan-implicit-le.dcm", false],
    ["ct-implicit-le-ge.dcm", false], // ends with (FFFC,FFFC) after Pixel Data
    ["ct-explicit-le-ge-small.dcm", true],
  ] as const)("%s: refused, or released without a leak", (file, explicit) => {
    const input = corpusFile(file);
    const all = headers(input, explicit);
    let refused = 0;
    let cases = 0;
    for (let i = 0; i < all.length - 1; i++) {
      const h = all[i]!;
      for (const j of new Set([i + 1, i + 2, all.length - 1])) {
        const target = all[j];
        if (!target || h.tag === 0x7fe00010) continue;
        const length = target.end - (h.lengthAt + h.lengthBytes);
        if (h.lengthBytes === 2 && length > 0xffff) continue;
        const mutated = Buffer.from(input);
        if (h.lengthBytes === 2) mutated.writeUInt16LE(length, h.lengthAt);
        else mutated.writeUInt32LE(length, h.lengthAt);
        cases++;
        const outcome = anonymize(mutated, "hipaa");
        if (outcome.status === "failed") refused++;
        else
          expect(findLeaks(input, outcome.output), `(${h.tag.toString(16)}) swallowing to ${j}`).toEqual([]);
      }
    }
    expect(cases).toBeGreaterThan(50);
    expect(refused).toBeGreaterThan(cases * 0.9);
  });
});

describe("a value that breaks its VR", () => {
  it("is emptied (a Type 2 attribute stays present), with a repair in the audit naming tag and offset, never the value", () => {
    const input = instance([
      leaf(0x00080060, "CS", "OT"),
      leaf(0x00180015, "CS", "HEAD\u0001NECK"), // Body Part Examined with a control byte
      leaf(0x00100010, "PN", "Last^First"),
    ]);
    const outcome = anonymize(input, "hipaa");
    expect(outcome.status).toBe("anonymized");
    if (outcome.status !== "anonymized") return;
    const repair = outcome.changes.find((c) => c.action === "repair");
    expect(repair).toMatchObject({ tag: "00180015", keyword: "BodyPartExamined", before: "" });
    expect(repair?.after).toMatch(/^offset \d+: value breaks its VR .*repertoire of VR CS.*: emptied$/);
    expect(JSON.stringify(outcome.changes.filter((c) => c.action === "repair"))).not.toContain("HEAD");
    const kept = readPart10(outcome.output).dataset.find((e) => e.tag === 0x00180015);
    expect(kept?.value?.length).toBe(0);
  });

  it("refuses when the attribute is one the instance cannot do without (Rows with 3 bytes)", () => {
    const rows = { tag: 0x00280010, vr: "US", value: Buffer.from([1, 0, 0]), undefinedLength: false };
    const outcome = anonymize(instance([rows]), "hipaa");
    expect(outcome).toMatchObject({ status: "failed", code: "DICOM_PARSE" });
    if (outcome.status === "failed") expect(outcome.reason).toMatch(/\(0028,0010\).*multiple of 2/);
  });

  it("keeps a structural value that is only badly formatted (Number of Frames '1A'), as dcmtk does", () => {
    const outcome = anonymize(corpusFile("malformed-invalid-is-value.dcm"), "hipaa");
    expect(outcome.status).toBe("anonymized");
    if (outcome.status !== "anonymized") return;
    expect(outcome.changes.find((c) => c.action === "repair")?.after).toMatch(/kept as read/);
  });
});
