/**
 * Interop of the pixel step's codecs: every compressed corpus file, redacted (a box in the middle of
 * each frame) and written back, decodes with the reference decoders (dcmtk dcmdjpeg for the JPEG
 * family, dcmdjpls for JPEG-LS, dcmdrle for RLE, GDCM gdcmconv --raw for JPEG 2000) to the
 * same samples as our decoder, frame by frame (HTJ2K, which GDCM 3.0 does not read: OpenJPH's
 * ojph_expand on the frames pydicom splits); a transcoded lossy JPEG (written as 4.70) adds no
 * dciodvfy error the input did not have.
 */
import crypto from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { DataElement } from "../../src/dicom/element.js";
import { readPart10, writePart10 } from "../../src/dicom/part10.js";
import { tagOf } from "../../src/dicom/tag.js";
import { transferSyntaxOf, type TransferSyntax } from "../../src/dicom/transfer-syntax.js";
import { asciiValue } from "../../src/dicom/values.js";
import { loadCodecs } from "../../src/pixel/codecs.js";
import { encodeHtj2kLossless } from "../../src/pixel/codecs/htj2k.js";
import { encapsulate } from "../../src/pixel/frames.js";
import { cleanPixelData, decodeFrames } from "../../src/pixel/index.js";
import { corpusFile, REALWORLD, ROOT } from "../helpers/corpus.js";
import { requireTool, run } from "../helpers/tools.js";
import { configFor } from "../unit/pixel/codecs-helpers.js";

const HAVE_DCMTK = requireTool("dcmdjpls", "dcmtk");
const HAVE_GDCM = requireTool("gdcmconv", "libgdcm-tools");
const HAVE_DCIODVFY = requireTool("dciodvfy", "dicom3tools");
// GDCM 3.0 does not know the HTJ2K syntaxes: OpenJPH's own expander is the reference there.
const HAVE_OJPH = requireTool("ojph_expand", "openjph-tools");
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "pixel-interop-"));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));
beforeAll(async () => {
  for (const s of ["4.50", "4.80", "4.90", "4.201"])
    await loadCodecs(transferSyntaxOf(`1.2.840.10008.1.2.${s}`)!);
});

const PIXEL_DATA = 0x7fe00010;
const text = (ds: readonly DataElement[], tag: number): string =>
  asciiValue(ds.find((e) => e.tag === tag)?.value).trim();
const sha = (f: Uint8Array): string => crypto.createHash("sha256").update(f).digest("hex");

/**
 * The reference decoder of a syntax: [tool, args before in/out]. dcmdjpeg +cl converts YCbCr to RGB
 * for every lossy JPEG, as libjpeg does from the JFIF marker even where the header says RGB (GH195);
 * +cn for the stream coded as RGB (dcmcjpeg +cr), which libjpeg does not convert either.
 */
function referenceFor(uid: string, file: string): [string, string[]] {
  const s = uid.replace("1.2.840.10008.1.2.", "");
  if (["4.50", "4.51", "4.57", "4.70"].includes(s))
    return ["dcmdjpeg", [path.basename(file).includes("+cr") ? "+cn" : "+cl"]];
  if (["4.80", "4.81"].includes(s)) return ["dcmdjpls", []];
  if (s === "5") return ["dcmdrle", []];
  return ["gdcmconv", ["--raw"]];
}

/** Per-frame SHA-256 as the reference decodes `file` (then pydicom reads the native bytes). */
function referenceHashes(file: string, uid: string): string[] {
  const [tool, args] = referenceFor(uid, file);
  const out = `${file}.raw.dcm`;
  const r = run(tool, [...args, file, out]);
  expect(r.status, `${tool}: ${r.stderr.slice(0, 300)}`).toBe(0);
  const dump = run("/usr/bin/python3", [path.join(ROOT, "test/fixtures/pixel/dump-ref.py"), "x", out]);
  expect(dump.status, dump.stderr.slice(0, 300)).toBe(0);
  return dump.stdout.trim().split(/\s+/).slice(1);
}

/** HTJ2K: test/fixtures/pixel/htj2k-ref.py (pydicom splits the frames, ojph_expand decodes them). */
function htj2kReferenceHashes(file: string): string[] {
  const r = run("/usr/bin/python3", [path.join(ROOT, "test/fixtures/pixel/htj2k-ref.py"), "x", file]);
  expect(r.status, r.stderr.slice(0, 300)).toBe(0);
  return r.stdout.trim().split(/\s+/).slice(1);
}

/** Redacts the middle of every frame and writes the file as the engine would (new syntax if any). */
function redactAndWrite(
  name: string,
  dataset: readonly DataElement[],
  ts: TransferSyntax,
): { file: string; uid: string; dataset: DataElement[]; syntax: TransferSyntax } {
  const { module: px } = decodeFrames(dataset, ts);
  const box = [
    Math.floor(px.cols / 4) + 3,
    Math.floor(px.rows / 4) + 1,
    Math.ceil(px.cols / 3),
    Math.ceil(px.rows / 5),
  ] as const;
  const result = cleanPixelData(dataset, ts, configFor(dataset, px.rows, px.cols, [box], "transcode"));
  const replaced = new Set([PIXEL_DATA, ...(result.attributes ?? []).map((a) => a.element.tag)]);
  const out = dataset
    .filter((e) => !replaced.has(e.tag))
    .concat(result.element, ...(result.attributes ?? []).map((a) => a.element))
    .sort((a, b) => a.tag - b.tag);
  const syntax = result.transferSyntax ?? ts;
  const file = path.join(tmp, `${name}.dcm`);
  fs.writeFileSync(
    file,
    writePart10({
      dataset: out,
      transferSyntax: syntax,
      sopClassUid: text(dataset, tagOf(0x0008, 0x0016)),
      sopInstanceUid: text(dataset, tagOf(0x0008, 0x0018)),
    }),
  );
  return { file, uid: syntax.uid, dataset: out, syntax };
}

const FILES = [
  "sc-rgb-jpeg-baseline-utf8", // 4.50 -> 4.70 while the DCT redactor declines
  "us-multiframe-jpeg-baseline-ybr",
  "ct-enhanced-multiframe-jpeg-extended", // 4.51 12-bit
  "ct-enhanced-multiframe-jpeg-lossless-p14", // 4.57
  "pt-ge-jpeg-lossless",
  "mr-siemens-csa-jpeg-lossless-sv1",
  "us-philips-jpeg-lossless-sv1",
  "mg-ge-senographe-large",
  "mr-small-jpeg-ls-lossless", // 4.80
  "ct-enhanced-multiframe-jpeg-ls-near-lossless", // 4.81
  "mr-siemens-csa-jpeg2000-lossless", // 4.90
  "cr-jpeg2000-lossy", // 4.91
  "nm-jpeg2000-lossy-ge-genie",
  "us-philips-palette-rle", // RLE
];

describe.runIf(HAVE_DCMTK && HAVE_GDCM)("written files decode in dcmtk / GDCM as in our decoder", () => {
  it.each(FILES.map((f) => [f]))("%s", (name) => {
    const parsed = readPart10(corpusFile(`${name}.dcm`));
    const w = redactAndWrite(name, parsed.dataset, parsed.transferSyntax);
    const reread = readPart10(fs.readFileSync(w.file));
    expect(reread.transferSyntax.uid).toBe(w.uid);
    const ours = decodeFrames(reread.dataset, reread.transferSyntax).frames.map(sha);
    expect(referenceHashes(w.file, w.uid)).toEqual(ours);
  });

  it.each([["4.201"], ["4.202"], ["4.203"]])("HTJ2K %s (encoded here from a corpus J2K file)", (s) => {
    const source = readPart10(corpusFile("mr-siemens-csa-jpeg2000-lossless.dcm"));
    const { frames, module: px } = decodeFrames(source.dataset, source.transferSyntax);
    const element: DataElement = {
      tag: PIXEL_DATA,
      vr: "OB",
      fragments: encapsulate(frames.map((f) => encodeHtj2kLossless(f, px, s === "4.202"))),
      undefinedLength: true,
    };
    const ts = transferSyntaxOf(`1.2.840.10008.1.2.${s}`)!;
    const ds = source.dataset.map((e) => (e.tag === PIXEL_DATA ? element : e));
    const w = redactAndWrite(`htj2k-${s}`, ds, ts);
    const reread = readPart10(fs.readFileSync(w.file));
    const ours = decodeFrames(reread.dataset, reread.transferSyntax).frames.map(sha);
    expect(HAVE_OJPH, "ojph_expand (openjph-tools) is needed for HTJ2K").toBe(true);
    expect(htj2kReferenceHashes(w.file)).toEqual(ours);
  });
});

describe.runIf(HAVE_GDCM && HAVE_OJPH)("colour JPEG 2000 / HTJ2K (real-world), written with RCT", () => {
  it.each([
    ["pydicom_pydicom-data__data_store_data_US1_J2KR.dcm", "YBR_RCT"], // 4.90 ultrasound
    ["pydicom_pydicom-data__data_store_data_HTJ2KLossless_08_RGB.dcm", "RGB"], // 4.201
    ["pydicom_pydicom-data__data_store_data_HTJ2K_08_RGB.dcm", "RGB"], // 4.203 irreversible
  ])("%s (%s)", (file, pi) => {
    const parsed = readPart10(fs.readFileSync(REALWORLD.find((e) => e.file === file)!.path));
    expect(text(parsed.dataset, tagOf(0x0028, 0x0004))).toBe(pi);
    const w = redactAndWrite(file, parsed.dataset, parsed.transferSyntax);
    expect(w.uid).toBe(parsed.transferSyntax.uid);
    const reread = readPart10(fs.readFileSync(w.file));
    expect(text(reread.dataset, tagOf(0x0028, 0x0004))).toBe("YBR_RCT");
    const ours = decodeFrames(reread.dataset, reread.transferSyntax).frames.map(sha);
    const reference = isHtj2k(w.uid) ? htj2kReferenceHashes(w.file) : referenceHashes(w.file, w.uid);
    expect(reference).toEqual(ours);
  });
});

/**
 * Real-world files, one per kind the public corpus lacks (all 50 of the golden set pass; these keep
 * the run short): colour coded as YCbCr under PI RGB and coded as RGB, 10-bit 4.51, colour JPEG-LS
 * in both modes, irreversible and colour J2K, P14 12-bit, RLE with many fragments per frame, 16-bit
 * colour RLE.
 */
const REALWORLD_GOLDEN = [
  "fo-dicom_fo-dicom__Tests_FO-DICOM.Tests_Test_Data_GH195",
  "pydicom_pylibjpeg-data__ljdata_ds_JPEGBaseline_SC_rgb_dcmtk_+eb+cr",
  "pydicom_pylibjpeg-data__ljdata_ds_JPEGExtended_RG2_JPLY_fixed",
  "pydicom_pydicom-data__data_store_data_JLSN_RGB_ILV0",
  "pydicom_pydicom-data__data_store_data_JLSL_RGB_ILV0",
  "pydicom_pydicom-data__data_store_data_RG1_J2KI",
  "pydicom_pylibjpeg-data__ljdata_ds_JPEG2000_SC_rgb_gdcm_KY",
  "pydicom_pylibjpeg-data__ljdata_ds_JPEGLossless_JPEGLossless_1s_1f_u_16_12",
  "fo-dicom_fo-dicom__Tests_FO-DICOM.Tests_Test_Data_D_CLUNIE_CT1_RLE_FRAGS",
  "pydicom_pylibjpeg-data__ljdata_ds_RLELossless_SC_rgb_rle_16bit_2frame",
];

describe.runIf(HAVE_DCMTK && HAVE_GDCM && HAVE_OJPH)("real-world compressed files, written back", () => {
  it.each(REALWORLD_GOLDEN.map((n) => [n]))("%s", (name) => {
    const entry = REALWORLD.find((e) => e.file === name || e.file === `${name}.dcm`)!;
    const parsed = readPart10(fs.readFileSync(entry.path));
    const w = redactAndWrite(`rw-${name}`, parsed.dataset, parsed.transferSyntax);
    const reread = readPart10(fs.readFileSync(w.file));
    const ours = decodeFrames(reread.dataset, reread.transferSyntax).frames.map(sha);
    const reference = isHtj2k(w.uid) ? htj2kReferenceHashes(w.file) : referenceHashes(w.file, w.uid);
    expect(reference).toEqual(ours);
  });
});

const isHtj2k = (uid: string): boolean => /\.4\.20[123]$/.test(uid);

/** dciodvfy's errors, values normalised (as test/interop/dciodvfy.test.ts). */
function iodErrors(file: string): Set<string> {
  const r = run("dciodvfy", [file]);
  expect(r.status).toBeLessThanOrEqual(1);
  return new Set(
    (r.stdout + r.stderr)
      .split("\n")
      .filter((l) => l.startsWith("Error"))
      .map((l) => l.replace(/[0-9][0-9.]*/g, "#")),
  );
}

describe.runIf(HAVE_DCIODVFY)("a transcoded lossy JPEG adds no IOD error", () => {
  it.each([
    ["us-multiframe-jpeg-baseline-ybr"],
    ["sc-rgb-jpeg-baseline-utf8"],
    ["ct-enhanced-multiframe-jpeg-extended"],
  ])("%s", (name) => {
    const parsed = readPart10(corpusFile(`${name}.dcm`));
    const w = redactAndWrite(`iod-${name}`, parsed.dataset, parsed.transferSyntax);
    // Only meaningful when the step did transcode (the DCT redactor declined this stream).
    const input = path.join(tmp, `iod-in-${name}.dcm`);
    fs.writeFileSync(input, corpusFile(`${name}.dcm`));
    const before = iodErrors(input);
    const added = [...iodErrors(w.file)].filter((e) => !before.has(e));
    expect(added).toEqual([]);
  });
});
