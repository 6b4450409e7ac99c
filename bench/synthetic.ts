/**
 * Synthetic corpora for benchmarks (no downloads): a CT-like series of 512x512 16-bit instances with
 * ~150 realistic attributes, nested sequences with identifiers and private blocks.
 */
import crypto from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import type { DataElement } from "../src/dicom/element.js";
import { writePart10 } from "../src/dicom/part10.js";
import { transferSyntaxOf } from "../src/dicom/transfer-syntax.js";
import { encodeValue } from "../src/dicom/values.js";

const CT = "1.2.840.10008.5.1.4.1.1.2";

function s(tag: number, vr: string, text: string): DataElement {
  return { tag, vr, value: encodeValue(text, vr), undefinedLength: false };
}
function us(tag: number, value: number): DataElement {
  const b = Buffer.alloc(2);
  b.writeUInt16LE(value);
  return { tag, vr: "US", value: b, undefinedLength: false };
}
function sq(tag: number, items: DataElement[][]): DataElement {
  return {
    tag,
    vr: "SQ",
    items: items.map((elements) => ({
      elements: elements.sort((a, b) => a.tag - b.tag),
      undefinedLength: true,
    })),
    undefinedLength: true,
  };
}

export interface SeriesOptions {
  readonly count: number;
  readonly rows: number;
  readonly columns: number;
  readonly frames?: number;
}

/** Writes `count` instances into `dir`; returns the file paths. */
export function writeCtSeries(dir: string, { count, rows, columns, frames = 1 }: SeriesOptions): string[] {
  fs.mkdirSync(dir, { recursive: true });
  const study = `1.2.826.0.1.3680043.10.1.${Date.now()}`;
  const series = `${study}.1`;
  const pixels = crypto.randomBytes(rows * columns * 2 * frames);
  const files: string[] = [];
  for (let i = 0; i < count; i++) {
    const sop = `${series}.${i + 1}`;
    const dataset: DataElement[] = [
      s(0x00080005, "CS", "ISO_IR 100"),
      s(0x00080008, "CS", "ORIGINAL\\PRIMARY\\AXIAL"),
      s(0x00080012, "DA", "20240312"),
      s(0x00080013, "TM", "101530.123"),
      s(0x00080016, "UI", CT),
      s(0x00080018, "UI", sop),
      s(0x00080020, "DA", "20240312"),
      s(0x00080021, "DA", "20240312"),
      s(0x00080022, "DA", "20240312"),
      s(0x00080023, "DA", "20240312"),
      s(0x00080030, "TM", "101010"),
      s(0x00080031, "TM", "101111"),
      s(0x00080032, "TM", "101112.5"),
      s(0x00080033, "TM", "101113"),
      s(0x00080050, "SH", "ACC20240312"),
      s(0x00080060, "CS", "CT"),
      s(0x00080070, "LO", "ACME Medical"),
      s(0x00080080, "LO", "St Elsewhere Hospital"),
      s(0x00080081, "ST", "1 Hospital Road, Springfield 12345"),
      s(0x00080090, "PN", "House^Gregory^^Dr"),
      s(0x00081010, "SH", "CT01"),
      s(0x00081030, "LO", "CT CHEST WITH CONTRAST"),
      s(0x0008103e, "LO", "AXIAL 1.25mm"),
      s(0x00081040, "LO", "RADIOLOGY"),
      s(0x00081050, "PN", "Cuddy^Lisa"),
      s(0x00081070, "PN", "Tech^Terry"),
      s(0x00081090, "LO", "ScanMaster 9000"),
      sq(0x00081032, [
        [s(0x00080100, "SH", "CTCHEST"), s(0x00080102, "SH", "99LOCAL"), s(0x00080104, "LO", "CT CHEST")],
      ]),
      sq(0x00081140, [[s(0x00081150, "UI", CT), s(0x00081155, "UI", `${series}.${((i + 1) % count) + 1}`)]]),
      s(0x00100010, "PN", "Doe^John^Q"),
      s(0x00100020, "LO", "MRN00012345"),
      s(0x00100021, "LO", "HOSPITAL-A"),
      s(0x00100030, "DA", "19300101"),
      s(0x00100040, "CS", "M"),
      s(0x00101010, "AS", "094Y"),
      s(0x00101020, "DS", "1.80"),
      s(0x00101030, "DS", "75.5"),
      s(0x00101040, "LO", "12 Main St, Springfield"),
      s(0x00102154, "SH", "555-0100"),
      sq(0x00101002, [[s(0x00100020, "LO", "123-45-6789"), s(0x00100022, "CS", "TEXT")]]),
      s(0x00180015, "CS", "CHEST"),
      s(0x00180050, "DS", "1.25"),
      s(0x00180060, "DS", "120"),
      s(0x00181000, "LO", "SN-998877"),
      s(0x00181020, "LO", "VA40"),
      s(0x00181030, "LO", "CHEST ROUTINE"),
      s(0x00181100, "DS", "350"),
      s(0x00181110, "DS", "1085.6"),
      s(0x00181120, "DS", "0"),
      s(0x00181130, "DS", "150"),
      s(0x00181140, "CS", "CW"),
      s(0x00181150, "IS", "500"),
      s(0x00181151, "IS", "200"),
      s(0x00181152, "IS", "100"),
      s(0x00181160, "SH", "FILTER_B"),
      s(0x00181170, "IS", "20"),
      s(0x00181190, "DS", "1.2"),
      s(0x00181210, "SH", "B30f"),
      s(0x00185100, "CS", "HFS"),
      s(0x0020000d, "UI", study),
      s(0x0020000e, "UI", series),
      s(0x00200010, "SH", "STUDY1"),
      s(0x00200011, "IS", "3"),
      s(0x00200012, "IS", "1"),
      s(0x00200013, "IS", String(i + 1)),
      s(0x00200032, "DS", `-250\\-250\\${-i * 1.25}`),
      s(0x00200037, "DS", "1\\0\\0\\0\\1\\0"),
      s(0x00200052, "UI", `${study}.9`),
      s(0x00201040, "LO", ""),
      s(0x00201041, "DS", String(-i * 1.25)),
      us(0x00280002, 1),
      s(0x00280004, "CS", "MONOCHROME2"),
      ...(frames > 1 ? [s(0x00280008, "IS", String(frames))] : []),
      us(0x00280010, rows),
      us(0x00280011, columns),
      s(0x00280030, "DS", "0.703125\\0.703125"),
      us(0x00280100, 16),
      us(0x00280101, 12),
      us(0x00280102, 11),
      us(0x00280103, 0),
      s(0x00281050, "DS", "40\\400"),
      s(0x00281051, "DS", "400\\1500"),
      s(0x00281052, "DS", "-1024"),
      s(0x00281053, "DS", "1"),
      s(0x00281054, "LO", "HU"),
      sq(0x00400275, [
        [s(0x00401001, "SH", "RP1234"), s(0x00400009, "SH", "SPS1234"), s(0x00321060, "LO", "CT CHEST")],
      ]),
      s(0x00090010, "LO", "ACME PRIVATE"),
      s(0x00091001, "LO", "Doe^John internal"),
      s(0x00091002, "DS", "3.14"),
      s(0x00290010, "LO", "ACME CSA"),
      { tag: 0x00291010, vr: "OB", value: crypto.randomBytes(4096), undefinedLength: false },
      { tag: 0x7fe00010, vr: "OW", value: pixels, undefinedLength: false },
    ];
    const file = path.join(dir, `ct-${String(i).padStart(5, "0")}.dcm`);
    fs.writeFileSync(
      file,
      writePart10({
        dataset: dataset.sort((a, b) => a.tag - b.tag),
        transferSyntax: transferSyntaxOf("1.2.840.10008.1.2.1")!,
        sopClassUid: CT,
        sopInstanceUid: sop,
      }),
    );
    files.push(file);
  }
  return files;
}
