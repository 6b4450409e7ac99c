import zlib from "node:zlib";
import { describe, expect, it } from "vitest";
import { readPart10, writePart10 } from "../../../src/dicom/part10.js";
import { readDataset } from "../../../src/dicom/read-dataset.js";
import { transferSyntaxOf } from "../../../src/dicom/transfer-syntax.js";
import { writeDataset } from "../../../src/dicom/write-dataset.js";
import { DicomParseError } from "../../../src/errors.js";
import { CORPUS, corpusFile, EXPECTED_REJECTIONS } from "../../helpers/corpus.js";
import { readWithDcmjs, writeWithDcmjs, pn } from "../../helpers/dicom.js";

const parseable = CORPUS.filter((c) => !/missing-tsyntax|truncated/.test(c.file));

describe("reading and writing datasets", () => {
  it.each(parseable.map((c) => [c.file]))("%s round-trips byte for byte (or repaired, once)", (file) => {
    const input = corpusFile(file);
    const parsed = readPart10(input);
    const written = writeDataset(parsed.dataset, parsed.transferSyntax.encoding).buf;
    if (parsed.repairs.length > 0) {
      // Lenient reading changed something (audited): what is written needs no repair and reads back
      // strictly to the same elements.
      const again = readDataset(written, parsed.transferSyntax.encoding, 0, written.length, { strict: true });
      expect(again.map((e) => e.tag)).toEqual(parsed.dataset.map((e) => e.tag));
    } else if (parsed.transferSyntax.deflated) {
      const inflated = readPart10(input);
      expect(written.length).toBeGreaterThan(0);
      expect(readDataset(written, parsed.transferSyntax.encoding).length).toBe(inflated.dataset.length);
    } else {
      // The dataset is the tail of the file, after preamble and meta.
      expect(written.equals(input.subarray(input.length - written.length))).toBe(true);
    }
  });

  it("rejects the corpus files that cannot be parsed, with the reason", () => {
    for (const file of ["malformed-meta-missing-tsyntax.dcm", "malformed-mr-truncated-pixeldata.dcm"]) {
      expect(() => readPart10(corpusFile(file))).toThrow(DicomParseError);
      expect(() => readPart10(corpusFile(file))).toThrow(EXPECTED_REJECTIONS[file]!);
    }
  });

  it("accepts a raw Implicit VR dataset without File Meta and writes it as Part 10", () => {
    const parsed = readPart10(corpusFile("rtstruct-no-meta-implicit.bin"));
    expect(parsed.container).toBe("raw");
    expect(parsed.transferSyntax.uid).toBe("1.2.840.10008.1.2");
    const out = writePart10({
      dataset: parsed.dataset,
      transferSyntax: parsed.transferSyntax,
      sopClassUid: "1.2.840.10008.5.1.4.1.1.481.3",
      sopInstanceUid: "1.2.3",
    });
    expect(out.toString("latin1", 128, 132)).toBe("DICM");
    expect(readWithDcmjs(out).meta["00020010"]?.Value?.[0]).toBe("1.2.840.10008.1.2");
  });

  it("rejects bytes that are not DICOM", () => {
    expect(() => readPart10(Buffer.from("hello, this is not a DICOM file at all"))).toThrow(DicomParseError);
    expect(() => readPart10(Buffer.alloc(4))).toThrow(/too short/);
  });

  it("refuses a deflated dataset that inflates past the cap (a deflate bomb)", () => {
    const file = writeWithDcmjs({ "00100010": pn("X") }, "1.2.840.10008.1.2.1.99");
    const metaEnd = 132 + 12 + file.readUInt32LE(132 + 8); // preamble, (0002,0000) and the group it counts
    const bomb = Buffer.concat([
      file.subarray(0, metaEnd),
      zlib.deflateRawSync(Buffer.alloc(50 * 1024 * 1024)),
    ]);
    expect(() => readPart10(bomb, { maxInflatedBytes: 1024 * 1024 })).toThrow(/inflates past 1048576 bytes/);
  });

  it("rejects an unknown transfer syntax rather than guessing", () => {
    expect(transferSyntaxOf("1.2.3.4.5")).toBeUndefined();
    const file = writeWithDcmjs({ "00100010": pn("X") }, "1.2.840.10008.1.2.1");
    const patched = Buffer.from(
      file.toString("latin1").replace("1.2.840.10008.1.2.1\0", "1.2.840.99999.1.2.1"),
      "latin1",
    );
    expect(() => readPart10(patched)).toThrow(/transfer syntax that is not a known UID/);
  });

  it("refuses nesting deeper than the limit instead of overflowing the stack", () => {
    let item = Buffer.alloc(0);
    for (let depth = 0; depth < 200; depth++) {
      const header = Buffer.alloc(16);
      header.writeUInt16LE(0x0008, 0);
      header.writeUInt16LE(0x1140, 2);
      header.writeUInt32LE(0xffffffff, 4); // implicit VR, undefined length
      header.writeUInt16LE(0xfffe, 8);
      header.writeUInt16LE(0xe000, 10);
      header.writeUInt32LE(0xffffffff, 12);
      const tail = Buffer.from([0xfe, 0xff, 0x0d, 0xe0, 0, 0, 0, 0, 0xfe, 0xff, 0xdd, 0xe0, 0, 0, 0, 0]);
      item = Buffer.concat([header, item, tail]);
    }
    expect(() => readDataset(item, transferSyntaxOf("1.2.840.10008.1.2")!.encoding)).toThrow(/nested deeper/);
  });
});
