/**
 * Shared by the detector tests: corpus frames as the engine sees them (decoded, header VOI), the
 * coverage measure of pixel-notes section 4, and the 11 text-free negatives.
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { readPart10 } from "../../../src/dicom/part10.js";
import type { Rect } from "../../../src/pixel/config.js";
import { toDisplay, voiOf, type RgbImage } from "../../../src/pixel/display.js";
import { decodeFrames } from "../../../src/pixel/index.js";
import type { PixelModule } from "../../../src/pixel/module.js";
import { padAndClip } from "../../../src/pixel/redact.js";
import { CORPUS_DIR, ROOT } from "../../helpers/corpus.js";
import { run } from "../../helpers/tools.js";

export const BOXES = JSON.parse(
  fs.readFileSync(path.join(ROOT, "test/fixtures/pixel/corpus-boxes.json"), "utf8"),
) as Record<string, { boxes: [number, number, number, number, string, number?][]; ignore?: Rect[] }>;

/**
 * The text-free CT/MR/MG/NM/DX/SC frames of pixel-notes section 4 (CR is left out: it has a burned-in
 * "R"). The MG (JPEG lossless) and NM (JPEG 2000) files are decoded by dcmtk / GDCM first (the
 * detector is under test here, not our codecs).
 */
export const NEGATIVES: readonly { name: string; decodeWith?: "dcmdjpeg" | "gdcmconv" }[] = [
  { name: "ct-implicit-le-ge" },
  { name: "ct-explicit-be-ge" },
  { name: "ct-enhanced-multiframe-explicit-le" },
  { name: "mr-large-explicit-le" },
  { name: "mr-siemens-csa-explicit-le" },
  { name: "mr-siemens-csa-mosaic-large" },
  { name: "mr-siemens-overlay-icon" },
  { name: "mg-ge-senographe-large", decodeWith: "dcmdjpeg" },
  { name: "nm-jpeg2000-lossy-ge-genie", decodeWith: "gdcmconv" },
  { name: "dx-request-attributes-odd-pixel" },
  { name: "sc-deflate" },
];

let scratch: string | undefined;

/** The bytes of a corpus file, decoded to a native syntax by a reference tool when asked. */
export function corpusBytes(name: string, decodeWith?: "dcmdjpeg" | "gdcmconv"): Buffer {
  const source = path.join(CORPUS_DIR, `${name}.dcm`);
  if (!decodeWith) return fs.readFileSync(source);
  scratch ??= fs.mkdtempSync(path.join(os.tmpdir(), "detector-"));
  const out = path.join(scratch, `${name}.dcm`);
  if (!fs.existsSync(out)) {
    const args = decodeWith === "dcmdjpeg" ? [source, out] : ["--raw", source, out];
    const r = run(decodeWith, args);
    if (r.status !== 0)
      throw new Error(
        `${decodeWith} failed (${r.status}) on ${name}: install dcmtk / libgdcm-tools (.ci/run does)\n${r.stderr}`,
      );
  }
  return fs.readFileSync(out);
}

/** Frame `index` of a file as the detector sees it (display image with the header's VOI). */
export function displayFrame(
  bytes: Buffer,
  index = 0,
): { img: RgbImage; px: PixelModule; frames: Uint8Array[]; planar: 0 | 1 } {
  const parsed = readPart10(bytes);
  const { frames, planar, module: px } = decodeFrames(parsed.dataset, parsed.transferSyntax);
  const voi =
    px.spp === 1 && !px.palette
      ? voiOf(parsed.dataset, parsed.transferSyntax.encoding.littleEndian, px.signed)
      : undefined;
  return { img: toDisplay(frames[index]!, px, planar, voi), px, frames, planar };
}

/** Detections padded as the pipeline pads them: max(padding, 15 % of their height). */
export function padded(dets: readonly Rect[], rows: number, cols: number, padding = 2): Rect[] {
  return dets
    .map((d) => padAndClip(d, Math.max(padding, Math.round(d[3] * 0.15)), rows, cols))
    .filter((r): r is Rect => r !== null);
}

/** Share of a box's pixels under the union of the padded detections. */
export function coverage(box: Rect, dets: readonly Rect[], rows: number, cols: number): number {
  const pads = padded(dets, rows, cols);
  let covered = 0;
  for (let y = box[1]; y < box[1] + box[3]; y++)
    for (let x = box[0]; x < box[0] + box[2]; x++)
      if (pads.some(([px, py, pw, ph]) => x >= px && x < px + pw && y >= py && y < py + ph)) covered++;
  return covered / (box[2] * box[3]);
}
