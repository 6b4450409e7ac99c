/**
 * Segmented palette LUTs (PS3.3 C.7.9.2) expand to the same tables as pydicom's expansion, and a
 * real ultrasound that carries them goes through the pixel step (it was refused as PIXEL_MODULE).
 */
import { execFileSync } from "node:child_process";
import crypto from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { readPart10 } from "../../../src/dicom/part10.js";
import { tagOf } from "../../../src/dicom/tag.js";
import { expandSegmentedLut, pixelModule } from "../../../src/pixel/module.js";
import { cleanPixelData } from "../../../src/pixel/index.js";
import { CORPUS_DIR, REALWORLD_DIR } from "../../helpers/corpus.js";
import { requireTool } from "../../helpers/tools.js";

const ALOKA = path.join(REALWORLD_DIR, "pydicom_pydicom-data__data_store_data_gdcm-US-ALOKA-16.dcm");
const SEGMENTED = [tagOf(0x0028, 0x1221), tagOf(0x0028, 0x1222), tagOf(0x0028, 0x1223)];
const hasPydicom = requireTool("/usr/bin/python3", "python3-pydicom");

/** SHA-256 of each expanded LUT as pydicom computes it (16-bit little-endian words). */
function pydicomHashes(file: string): string[] {
  const script = `
import sys, hashlib, struct, pydicom
from pydicom.pixel_data_handlers.util import _expand_segmented_lut
d = pydicom.dcmread(sys.argv[1])
for kw in ("Red", "Green", "Blue"):
    raw = getattr(d, kw + "PaletteColorLookupTableData" if False else "Segmented" + kw + "PaletteColorLookupTableData")
    words = struct.unpack("<%dH" % (len(raw) // 2), raw)
    lut = _expand_segmented_lut(words, "<H")
    print(hashlib.sha256(struct.pack("<%dH" % len(lut), *lut)).hexdigest())
`;
  return execFileSync("/usr/bin/python3", ["-c", script, file], { encoding: "utf8" }).trim().split("\n");
}

describe("segmented palette LUTs", () => {
  const parsed = readPart10(fs.readFileSync(ALOKA));
  const le = parsed.transferSyntax.encoding.littleEndian;

  it.runIf(hasPydicom)("expand to the same tables as pydicom (ALOKA US, 65,536 entries each)", () => {
    const ours = SEGMENTED.map((tag) => {
      const data = parsed.dataset.find((e) => e.tag === tag)!.value!;
      const lut = expandSegmentedLut(data, le, 65536);
      return crypto.createHash("sha256").update(lut).digest("hex");
    });
    expect(ours).toEqual(pydicomHashes(ALOKA));
  });

  it("read into the pixel module: a palette for display and the darkest entry as the fill", () => {
    const px = pixelModule(parsed.dataset, le);
    expect(px.palette?.rgb.map((c) => c.length)).toEqual([65536, 65536, 65536]);
    const [fill] = px.fill;
    const lum = (i: number) =>
      0.299 * px.palette!.rgb[0]![i]! + 0.587 * px.palette!.rgb[1]![i]! + 0.114 * px.palette!.rgb[2]![i]!;
    for (let i = 0; i < 65536; i += 257) expect(lum(fill!)).toBeLessThanOrEqual(lum(i));
  });

  it("the ALOKA ultrasound is cleaned: its boxes hold the darkest entry, the rest is unchanged", () => {
    const config = {
      detector: false,
      padding: 0,
      scope: { modalities: ["US"], sopClasses: [], burnedInAnnotationYes: true },
      unmatched: "reject" as const,
      templates: [
        { manufacturer: "ALOKA", model: "", rows: 480, columns: 640, boxes: [[0, 0, 640, 40]] as const },
      ],
    };
    const manufacturer = parsed.dataset.find((e) => e.tag === tagOf(0x0008, 0x0070));
    const model = parsed.dataset.find((e) => e.tag === tagOf(0x0008, 0x1090));
    // The template is keyed on this file's own device attributes (whatever they hold).
    const text = (v?: Uint8Array) =>
      Buffer.from(v ?? [])
        .toString("latin1")
        .trim();
    config.templates[0]!.manufacturer = text(manufacturer?.value);
    config.templates[0]!.model = text(model?.value);
    const result = cleanPixelData(parsed.dataset, parsed.transferSyntax, config);
    const px = pixelModule(parsed.dataset, le);
    const before = parsed.dataset.find((e) => e.tag === tagOf(0x7fe0, 0x0010))!.value!;
    const after = result.element.value!;
    const expected = Buffer.from(before);
    for (let i = 0; i < 40 * 640; i++) expected.writeUInt16LE(px.fill[0]!, 2 * i);
    expect(Buffer.compare(Buffer.from(after), expected)).toBe(0);
    expect(Buffer.compare(Buffer.from(after), Buffer.from(before))).not.toBe(0);
  });
});

describe("a palette whose darkest entry the samples cannot hold", () => {
  it("is refused (PIXEL_MODULE), not filled with a truncated index", () => {
    const cx50 = readPart10(fs.readFileSync(path.join(CORPUS_DIR, "us-philips-palette-rle.dcm")));
    const le = cx50.transferSyntax.encoding.littleEndian;
    expect(pixelModule(cx50.dataset, le).fill[0]).toBeLessThan(256);
    // First Mapped 300 on 8-bit samples: every entry's index is past 255.
    const dataset = cx50.dataset.map((e) => {
      if (![0x00281101, 0x00281102, 0x00281103].includes(e.tag)) return e;
      const value = Buffer.from(e.value!);
      value.writeUInt16LE(300, 2);
      return { ...e, value };
    });
    expect(() => pixelModule(dataset, le)).toThrow(/darkest entry is past what Bits Stored can hold/);
  });
});
