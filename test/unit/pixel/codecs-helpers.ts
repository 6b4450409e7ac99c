/** Shared by the codec tests: a template config for a corpus file, and the redaction-contract verifier. */
import { createRequire } from "node:module";
import { expect } from "vitest";
import type { DataElement } from "../../../src/dicom/element.js";
import { tagOf } from "../../../src/dicom/tag.js";
import type { TransferSyntax } from "../../../src/dicom/transfer-syntax.js";
import { asciiValue } from "../../../src/dicom/values.js";
import type { PixelConfig, Rect } from "../../../src/pixel/config.js";
import { decodeFrames, type PixelResult } from "../../../src/pixel/index.js";

export { corpusFile } from "../../helpers/corpus.js";
export const requireCjsForTests = createRequire(import.meta.url);

const PIXEL_DATA = 0x7fe00010;
const text = (ds: readonly DataElement[], g: number, e: number): string =>
  asciiValue(ds.find((x) => x.tag === tagOf(g, e))?.value).trim();

export function configFor(
  ds: readonly DataElement[],
  rows: number,
  cols: number,
  boxes: readonly Rect[],
  lossy: PixelConfig["lossy"] = "transcode",
): PixelConfig {
  return {
    detector: false,
    padding: 0,
    scope: { modalities: [], sopClasses: [], burnedInAnnotationYes: true },
    unmatched: "reject",
    lossy,
    templates: [
      {
        manufacturer: text(ds, 0x0008, 0x0070),
        model: text(ds, 0x0008, 0x1090),
        rows,
        columns: cols,
        boxes,
      },
    ],
  };
}

/** The black each sample gets, from the PS3.3 definitions (decoded lossy JPEG colour is RGB). */
function expectedFill(pi: string, signed: boolean, bitsStored: number, bitsAllocated: number): number[] {
  const container = (v: number): number => (v < 0 ? 2 ** bitsAllocated + v : v);
  if (pi === "MONOCHROME1") return [signed ? 2 ** (bitsStored - 1) - 1 : 2 ** bitsStored - 1];
  if (pi === "MONOCHROME2") return [signed ? container(-(2 ** (bitsStored - 1))) : 0];
  return [0, 0, 0];
}

function sample(f: Uint8Array, o: number, bps: number): number {
  let v = 0;
  for (let i = bps - 1; i >= 0; i--) v = v * 256 + f[o + i]!;
  return v;
}

const inRects = (rects: readonly Rect[], x: number, y: number): boolean =>
  rects.some(([rx, ry, rw, rh]) => x >= rx && x < rx + rw && y >= ry && y < ry + rh);

/**
 * The verifier of the redaction contract, with our own decoder: outside the region the step reports
 * as changed (its audit boxes: the requested boxes, or a DCT edit's snapped blocks) every sample is
 * the original's; inside the requested boxes every sample is the fill.
 */
export function checkRedaction(
  original: { dataset: readonly DataElement[]; transferSyntax: TransferSyntax },
  result: PixelResult,
  requested: readonly Rect[],
): { inside: number; outside: number } {
  const before = decodeFrames(original.dataset, original.transferSyntax);
  // The dataset as the engine writes it: new Pixel Data and the attributes the step changed.
  const replaced = new Set([PIXEL_DATA, ...(result.attributes ?? []).map((a) => a.element.tag)]);
  const ds = original.dataset
    .filter((e) => !replaced.has(e.tag))
    .concat(result.element, ...(result.attributes ?? []).map((a) => a.element));
  const after = decodeFrames(ds, result.transferSyntax ?? original.transferSyntax);
  const px = before.module;
  const fill = expectedFill(px.photometric, px.signed, px.bitsStored, px.bitsAllocated);
  const bps = px.bitsAllocated / 8;
  let inside = 0;
  let outside = 0;
  for (let f = 0; f < px.frames; f++) {
    const changed = result.boxes
      .filter((b) => b.frame === f + 1)
      .map((b) => [b.x, b.y, b.width, b.height] as const);
    const a = before.frames[f]!;
    const b = after.frames[f]!;
    expect(b.length).toBe(a.length);
    for (let y = 0; y < px.rows; y++)
      for (let x = 0; x < px.cols; x++) {
        const isInside = inRects(requested, x, y);
        const isChanged = inRects(changed, x, y);
        for (let s = 0; s < px.spp; s++) {
          const o = ((y * px.cols + x) * px.spp + s) * bps;
          if (isInside) {
            if (sample(b, o, bps) !== fill[s]) throw new Error(`frame ${f + 1} (${x},${y}) not filled`);
            inside++;
          } else if (!isChanged) {
            if (sample(b, o, bps) !== sample(a, o, bps))
              throw new Error(`frame ${f + 1} (${x},${y}) changed`);
            outside++;
          }
        }
      }
  }
  return { inside, outside };
}
