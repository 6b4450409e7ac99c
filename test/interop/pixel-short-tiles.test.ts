/**
 * JPEG frames smaller than Rows x Columns: fo-dicom's `multiframe.dcm` (a VL whole slide image, 140
 * tiles of 240x240 in the header) codes its right-edge tiles 55 columns wide and its bottom-edge
 * tiles 121 rows high (against PS3.5 8.2.1). dcmtk reads it: it decodes each stream at its own size and
 * zero-fills the rest of the frame, laying the samples out contiguously (right for a short tile, a
 * scramble for a narrow one). We place the tile top left, zeros right of and below it; this test
 * holds our decode to dcmdjpeg's samples tile by tile, and the pixel step to a clean that dcmdjpeg
 * decodes as we do.
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { DataElement } from "../../src/dicom/element.js";
import { readPart10, writePart10 } from "../../src/dicom/part10.js";
import { tagOf } from "../../src/dicom/tag.js";
import { transferSyntaxOf } from "../../src/dicom/transfer-syntax.js";
import { asciiValue } from "../../src/dicom/values.js";
import { loadCodecs } from "../../src/pixel/codecs.js";
import { sofSize } from "../../src/pixel/codecs/jpeg.js";
import { encapsulatedFrames } from "../../src/pixel/frames.js";
import { cleanPixelData, decodeFrames } from "../../src/pixel/index.js";
import { REALWORLD } from "../helpers/corpus.js";
import { requireTool, run } from "../helpers/tools.js";
import { configFor } from "../unit/pixel/codecs-helpers.js";

const HAVE_DCMTK = requireTool("dcmdjpeg", "dcmtk");
const NAME = "fo-dicom_fo-dicom__Tests_FO-DICOM.Tests_Test_Data_multiframe.dcm";
const PIXEL_DATA = 0x7fe00010;
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "pixel-tiles-"));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));
beforeAll(async () => loadCodecs(transferSyntaxOf("1.2.840.10008.1.2.4.50")!));

const streamsOf = (ds: readonly DataElement[]): Uint8Array[] =>
  encapsulatedFrames(ds.find((e) => e.tag === PIXEL_DATA)!.fragments!, 140);
const text = (ds: readonly DataElement[], tag: number): string =>
  asciiValue(ds.find((e) => e.tag === tag)?.value).trim();

/** dcmdjpeg +cl's native Pixel Data of `file`, frame by frame (240 x 240 x RGB bytes each). */
function dcmtkFrames(file: string, frames: number, bytes: number): Buffer[] {
  const out = path.join(tmp, `${path.basename(file)}.native.dcm`); // never beside a corpus file
  const r = run("dcmdjpeg", ["+cl", file, out]);
  expect(r.status, r.stderr.slice(0, 300)).toBe(0);
  const pixel = readPart10(fs.readFileSync(out)).dataset.find((e) => e.tag === PIXEL_DATA)!;
  const data = Buffer.from(pixel.value!);
  return Array.from({ length: frames }, (_, i) => data.subarray(i * bytes, (i + 1) * bytes));
}

/** Our frame against dcmtk's: the tile's samples (contiguous in dcmtk's), zeros everywhere else. */
function expectSameTile(
  ours: Uint8Array,
  theirs: Buffer,
  tile: { rows: number; cols: number },
  cols: number,
) {
  const rowOut = cols * 3;
  const rowIn = tile.cols * 3;
  const placed = Buffer.alloc(ours.length);
  for (let y = 0; y < tile.rows; y++) theirs.copy(placed, y * rowOut, y * rowIn, (y + 1) * rowIn);
  expect(Buffer.compare(Buffer.from(ours), placed)).toBe(0);
  expect(theirs.subarray(tile.rows * rowIn).every((v) => v === 0)).toBe(true);
}

describe.runIf(HAVE_DCMTK)("JPEG tiles smaller than the frame (fo-dicom multiframe.dcm)", () => {
  const file = REALWORLD.find((e) => e.file === NAME)!.path;
  const parsed = readPart10(fs.readFileSync(file));

  it("decodes every tile as dcmdjpeg does, placed top left with zeros right and below", () => {
    const { frames, module: px } = decodeFrames(parsed.dataset, parsed.transferSyntax);
    expect([frames.length, px.rows, px.cols, px.spp]).toEqual([140, 240, 240, 3]);
    const streams = streamsOf(parsed.dataset);
    const tiles = streams.map((s) => sofSize(s)!);
    // 9 narrow tiles on the right edge, 13 short ones at the bottom, one both.
    expect(tiles.filter((t) => t.cols === 55 && t.rows === 240)).toHaveLength(9);
    expect(tiles.filter((t) => t.rows === 121 && t.cols === 240)).toHaveLength(13);
    expect(tiles.filter((t) => t.rows === 121 && t.cols === 55)).toHaveLength(1);
    const theirs = dcmtkFrames(file, 140, 240 * 240 * 3);
    frames.forEach((f, i) => expectSameTile(f, theirs[i]!, tiles[i]!, 240));
  });

  it("is cleaned across the tile edges (DCT-domain edit) and the written file decodes in dcmdjpeg as in ours", () => {
    // A box over the bottom-right corner: in every tile, partly outside the short and narrow ones.
    const config = configFor(parsed.dataset, 240, 240, [[40, 100, 200, 140]], "refuse");
    const result = cleanPixelData(parsed.dataset, parsed.transferSyntax, config);
    expect(result.transferSyntax).toBeUndefined(); // still 4.50: edited, not transcoded
    const out = parsed.dataset
      .filter((e) => e.tag !== PIXEL_DATA)
      .concat(result.element)
      .sort((a, b) => a.tag - b.tag);
    const written = path.join(tmp, "tiles.dcm");
    fs.writeFileSync(
      written,
      writePart10({
        dataset: out,
        transferSyntax: parsed.transferSyntax,
        sopClassUid: text(parsed.dataset, tagOf(0x0008, 0x0016)),
        sopInstanceUid: text(parsed.dataset, tagOf(0x0008, 0x0018)),
      }),
    );
    const reread = readPart10(fs.readFileSync(written));
    const ours = decodeFrames(reread.dataset, reread.transferSyntax).frames;
    const streams = streamsOf(reread.dataset);
    const theirs = dcmtkFrames(written, 140, 240 * 240 * 3);
    ours.forEach((f, i) => expectSameTile(f, theirs[i]!, sofSize(streams[i]!)!, 240));
    // The box's part inside each tile is dark now (luma at the minimum), the original was not.
    const before = decodeFrames(parsed.dataset, parsed.transferSyntax).frames;
    const at = (f: Uint8Array, x: number, y: number) => f[(y * 240 + x) * 3]!;
    expect(before.filter((f) => at(f, 48, 110) > 40).length).toBeGreaterThan(100);
    for (const f of ours) expect(at(f, 48, 110)).toBeLessThan(8);
  });
});
