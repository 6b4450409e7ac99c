/**
 * Issue 10 "lenient reading, strict writing" and issue 9 item 15: what dcmtk and pydicom read with an
 * unambiguous meaning is read, written conformant, and audited as a repair; what cannot be written
 * validly is refused. Outputs are checked with dcmtk (dcmdump +E: any warning fails) and pydicom.
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import type { DataElement } from "../../../src/dicom/element.js";
import { readPart10, writePart10 } from "../../../src/dicom/part10.js";
import { transferSyntaxOf, EXPLICIT_BE } from "../../../src/dicom/transfer-syntax.js";
import { writeDataset } from "../../../src/dicom/write-dataset.js";
import type { AnonymizedInstance } from "../../../src/engine/anonymize.js";
import { instance, leaf, SC } from "../../helpers/build.js";
import { corpusFile as corpusFileBytes, ROOT } from "../../helpers/corpus.js";
import { anonymize } from "../../helpers/engine.js";
import { requireTool, run } from "../../helpers/tools.js";

const REALWORLD = path.resolve(ROOT, "../shared/corpus/realworld");
const HAVE_DCMDUMP = requireTool("dcmdump", "dcmtk");
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "lenient-"));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

/** dcmtk and pydicom read the output without a warning. */
function externalParsersAccept(output: Buffer, name: string): void {
  const file = path.join(tmp, `${name}.dcm`);
  fs.writeFileSync(file, output);
  if (HAVE_DCMDUMP) {
    const r = run("dcmdump", ["-q", "+E", file]);
    expect(r.stderr, "dcmdump reported").toBe("");
    expect(r.status).toBe(0);
  }
  const py = run("/usr/bin/python3", ["-c", "import sys,pydicom; pydicom.dcmread(sys.argv[1])", file]);
  expect(py.stderr).toBe("");
  expect(py.status).toBe(0);
}

function ok(outcome: ReturnType<typeof anonymize>): AnonymizedInstance {
  if (outcome.status !== "anonymized") throw new Error(`expected success: ${outcome.reason}`);
  return outcome;
}

const repairsOf = (o: AnonymizedInstance) => o.changes.filter((c) => c.action === "repair");

const explicitLe = transferSyntaxOf("1.2.840.10008.1.2.1")!;

/** A Part 10 file whose dataset is written as given (order and VRs not fixed up). */
function rawPart10(dataset: DataElement[]): Buffer {
  return writePart10({ dataset, transferSyntax: explicitLe, sopClassUid: SC, sopInstanceUid: "1.2.999.7" });
}

describe("lenient reading, strict writing", () => {
  it("reads the realworld file with VR bytes '  ' on Pixel Padding Value as the dictionary VR (GH179A)", () => {
    const input = fs.readFileSync(
      path.join(REALWORLD, "fo-dicom_fo-dicom__Tests_FO-DICOM.Tests_Test_Data_GH179A.dcm"),
    );
    const out = ok(anonymize(input, "hipaa"));
    expect(repairsOf(out)).toEqual([
      expect.objectContaining({
        tag: "00280120",
        after: expect.stringMatching(/^offset 1398: unknown VR bytes: read with a 2-byte length as .* US$/),
      }),
    ]);
    const written = readPart10(out.output).dataset.find((e) => e.tag === 0x00280120);
    expect(written?.vr).toBe("US");
    externalParsersAccept(out.output, "gh179a");
  });

  it("reads an explicit VR of two zero bytes on a known tag as the dictionary VR, as dcmtk does", () => {
    const input = instance([
      leaf(0x00080060, "CS", "OT"),
      { tag: 0x00280010, vr: "US", value: Buffer.from([0x00, 0x02]), undefinedLength: false },
    ]);
    const at = input.indexOf(Buffer.from([0x28, 0x00, 0x10, 0x00, 0x55, 0x53]), 132); // (0028,0010) US
    input.writeUInt16LE(0, at + 4);
    const out = ok(anonymize(input, "hipaa"));
    expect(repairsOf(out).map((r) => r.after)).toEqual([
      `offset ${at}: unknown VR bytes: read with a 2-byte length as the dictionary VR US`,
    ]);
    const rows = readPart10(out.output).dataset.find((e) => e.tag === 0x00280010);
    expect(rows?.vr).toBe("US");
    expect(Buffer.from(rows!.value!).readUInt16LE(0)).toBe(512);
    externalParsersAccept(out.output, "vr-zero");
  });

  it("still refuses unknown VR bytes on a tag the dictionary does not know", () => {
    const input = instance([leaf(0x00291010, "LO", "private")]);
    const at = input.indexOf(Buffer.from([0x29, 0x00, 0x10, 0x10]), 132);
    input.writeUInt16LE(0, at + 4);
    expect(anonymize(input, "hipaa")).toMatchObject({
      status: "failed",
      reason: `element (0029,1010) at offset ${at} has an unknown VR`,
    });
  });

  it("drops File Meta elements repeated inside the dataset", () => {
    const input = instance([leaf(0x00020013, "SH", "OTHER_IMPL"), leaf(0x00100010, "PN", "Last^First")]);
    const out = ok(anonymize(input, "hipaa"));
    expect(repairsOf(out)).toEqual([
      expect.objectContaining({
        tag: "00020013",
        after: expect.stringMatching(/File Meta element inside the dataset: dropped/),
      }),
    ]);
    expect(readPart10(out.output).dataset.some((e) => e.tag >>> 16 === 2)).toBe(false);
    externalParsersAccept(out.output, "meta-in-dataset");
  });

  it("sorts elements that are out of ascending order", () => {
    const input = rawPart10([
      leaf(0x00080016, "UI", SC),
      leaf(0x00080018, "UI", "1.2.999.7"),
      leaf(0x00100010, "PN", "Last^First"),
      leaf(0x00080060, "CS", "OT"), // after (0010,0010)
      leaf(0x00200013, "IS", "4"),
    ]);
    const out = ok(anonymize(input, "hipaa"));
    expect(repairsOf(out).map((r) => [r.tag, r.after?.replace(/^offset \d+: /, "")])).toEqual([
      ["00080060", "out of ascending order: sorted"],
    ]);
    const tags = readPart10(out.output).dataset.map((e) => e.tag);
    expect(tags).toEqual([...tags].sort((a, b) => a - b));
    expect(tags).toContain(0x00080060);
    externalParsersAccept(out.output, "unordered");
  });

  it("refuses the same tag twice (ambiguous)", () => {
    const input = rawPart10([
      leaf(0x00080016, "UI", SC),
      leaf(0x00080018, "UI", "1.2.999.7"),
      leaf(0x00100010, "PN", "Last^First"),
      leaf(0x00080060, "CS", "OT"),
      leaf(0x00080060, "CS", "CT"),
    ]);
    expect(anonymize(input, "hipaa")).toMatchObject({
      status: "failed",
      reason: expect.stringMatching(/\(0008,0060\) appears twice/),
    });
  });

  it("reads a UN of a known attribute with its dictionary VR (Study Description sent as UN)", () => {
    const input = instance([
      leaf(0x00081030, "UN", "CT HEAD Last^First"),
      leaf(0x00100010, "PN", "Last^First"),
    ]);
    const out = ok(anonymize(input, "hipaa"));
    expect(repairsOf(out).map((r) => r.after)).toEqual([
      expect.stringMatching(/UN of a known attribute: read as the dictionary VR LO/),
    ]);
    const written = readPart10(out.output).dataset.find((e) => e.tag === 0x00081030);
    expect(written === undefined || written.vr === "LO").toBe(true);
    expect(out.output.includes("Last^First")).toBe(false);
    externalParsersAccept(out.output, "un-known");
  });

  it("in Explicit VR Big Endian, renames a UN only where the bytes do not depend on byte order", () => {
    const rows = { tag: 0x00280010, vr: "UN", value: Buffer.from([0x01, 0x00]), undefinedLength: false };
    const input = instance([leaf(0x00081030, "UN", "CT HEAD"), rows], "1.2.840.10008.1.2.2");
    const parsed = readPart10(input);
    expect(parsed.dataset.find((e) => e.tag === 0x00081030)?.vr).toBe("LO");
    expect(parsed.dataset.find((e) => e.tag === 0x00280010)?.vr).toBe("UN"); // US bytes: order unknown
    expect(parsed.repairs.map((r) => r.tag)).toEqual([0x00081030]);
  });

  it("detects a raw Explicit VR Big Endian dataset without File Meta (was read as Little Endian)", () => {
    const dataset = [
      leaf(0x00080016, "UI", SC),
      leaf(0x00080018, "UI", "1.2.999.7"),
      leaf(0x00080060, "CS", "OT"),
      { tag: 0x00280010, vr: "US", value: Buffer.from([0x01, 0x00]), undefinedLength: false }, // 256 in BE
      leaf(0x00100010, "PN", "Last^First"),
    ].sort((a, b) => a.tag - b.tag);
    const raw = writeDataset(dataset, EXPLICIT_BE).buf;
    const parsed = readPart10(raw);
    expect(parsed.transferSyntax.uid).toBe("1.2.840.10008.1.2.2");
    expect(parsed.repairs.map((r) => r.what)).toEqual([expect.stringMatching(/Explicit VR Big Endian/)]);
    const out = ok(anonymize(raw, "hipaa"));
    expect(out.transferSyntaxUID).toBe("1.2.840.10008.1.2.2");
    expect(out.output.includes("Last^First")).toBe(false);
    externalParsersAccept(out.output, "raw-be");
  });
});

describe("the output is a valid encoding or the instance is refused (issue 9 item 15)", () => {
  it("refuses native Pixel Data with a defined length under an encapsulated transfer syntax", () => {
    const input = instance(
      [
        leaf(0x00280010, "US", ""),
        { tag: 0x7fe00010, vr: "OB", value: Buffer.alloc(16, 7), undefinedLength: false },
      ],
      "1.2.840.10008.1.2.4.50",
    );
    expect(anonymize(input, "hipaa")).toMatchObject({
      status: "failed",
      code: "DICOM_PARSE",
      reason: expect.stringMatching(/Pixel Data \(7FE0,0010\) is native .* encapsulated/),
    });
  });

  it("writes a known SQ sent as OB with undefined length as SQ", () => {
    // (0008,1140) Referenced Image Sequence, explicit VR "OB", undefined length, one item.
    const inner = writeDataset(
      [leaf(0x00081150, "UI", SC), leaf(0x00081155, "UI", "1.2.3.4")],
      explicitLe.encoding,
    ).buf;
    const header = Buffer.alloc(12);
    header.writeUInt16LE(0x0008, 0);
    header.writeUInt16LE(0x1140, 2);
    header.write("OB", 4, "latin1");
    header.writeUInt32LE(0xffffffff, 8);
    const item = Buffer.alloc(8);
    item.writeUInt32LE(0xe000fffe, 0);
    item.writeUInt32LE(inner.length, 4);
    const delimiter = Buffer.from([0xfe, 0xff, 0xdd, 0xe0, 0, 0, 0, 0]);
    const base = instance([leaf(0x00080060, "CS", "OT"), leaf(0x00100010, "PN", "Last^First")]);
    // Insert the sequence after Modality (0008,0060) and before (0010,0010).
    const at = base.indexOf(Buffer.from([0x10, 0x00, 0x10, 0x00]), 132);
    const input = Buffer.concat([base.subarray(0, at), header, item, inner, delimiter, base.subarray(at)]);
    const out = ok(anonymize(input, "hipaa"));
    expect(repairsOf(out).map((r) => r.after)).toEqual([
      expect.stringMatching(/sent as VR OB with undefined length: written as SQ/),
    ]);
    const seq = readPart10(out.output, { strict: true }).dataset.find((e) => e.tag === 0x00081140);
    expect(seq?.vr).toBe("SQ");
    externalParsersAccept(out.output, "sq-as-ob");
  });

  it("writes encapsulated Pixel Data sent as UN as OB (dcmtk rejects UN fragments)", () => {
    const base = corpusFileBytes("us-multiframe-jpeg-baseline-ybr.dcm");
    const pixel = base.lastIndexOf(Buffer.from([0xe0, 0x7f, 0x10, 0x00, 0x4f, 0x42]));
    const input = Buffer.from(base);
    input.write("UN", pixel + 4, "latin1");
    const out = ok(anonymize(input, "basic"));
    expect(repairsOf(out).map((r) => r.after)).toContainEqual(
      expect.stringMatching(/encapsulated Pixel Data sent as VR UN: written as OB/),
    );
    expect(readPart10(out.output, { strict: true }).dataset.at(-1)?.vr).toBe("OB");
    externalParsersAccept(out.output, "pixel-as-un");
  });
});

describe("an explicit VR that contradicts the dictionary (a one-bit tag flip lands on another attribute)", () => {
  it("empties the value, audited: Accession Number's value under Query/Retrieve Level (CS) sent as SH", () => {
    // (0008,0052) is one bit away from Accession Number (0008,0050); the value arrives with VR SH.
    const input = instance([leaf(0x00080052, "SH", "ACC12345"), leaf(0x00080060, "CS", "OT")]);
    for (const profile of ["basic", "hipaa"]) {
      const out = ok(anonymize(input, profile));
      expect(repairsOf(out).map((r) => r.after)).toContainEqual(
        expect.stringMatching(/VR SH where the dictionary has CS\): emptied$/),
      );
      expect(out.output.includes("ACC12345")).toBe(false);
    }
  });

  it("never keeps a sequence sent as bytes with a defined length (its items may hold UIDs)", () => {
    const input = instance([
      { tag: 0x00081115, vr: "OB", value: Buffer.alloc(16, 0x41), undefinedLength: false },
    ]);
    const out = anonymize(input, "hipaa");
    if (out.status === "anonymized") expect(out.output.includes(Buffer.alloc(16, 0x41))).toBe(false);
  });

  it("keeps real data whose VR merely differs where both fit (nothing in the corpora is refused for it)", () => {
    const input = instance([leaf(0x00080060, "CS", "OT"), leaf(0x00181200, "DS", "")]);
    expect(repairsOf(ok(anonymize(input, "hipaa")))).toEqual([]);
  });
});
