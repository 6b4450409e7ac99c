/**
 * The ultrasound regions (Sequence of Ultrasound Regions, 0018,6011): where a US frame holds image
 * data. They are read for the preview only; nothing in the pixel step limits text search or
 * redaction to outside (or inside) them: devices burn text into image regions too (e.g. the probe
 * and frequency labels inside the Philips EPIQ region), and real files carry regions that exceed
 * their frame (the corpus' SonoSite cine: 320x240 frames, a region reaching x 595, y 414).
 * Coordinates are checked against Rows and Columns; a region partly outside is clipped and counted,
 * one wholly outside or inverted is dropped and counted: never a refusal.
 */
import type { DataElement } from "../dicom/element.js";
import { tagOf } from "../dicom/tag.js";

export const SEQUENCE_OF_ULTRASOUND_REGIONS = tagOf(0x0018, 0x6011);
const MIN_X0 = tagOf(0x0018, 0x6018);
const MIN_Y0 = tagOf(0x0018, 0x601a);
const MAX_X1 = tagOf(0x0018, 0x601c);
const MAX_Y1 = tagOf(0x0018, 0x601e);

export interface UsRegion {
  readonly x: number;
  readonly y: number;
  readonly width: number;
  readonly height: number;
}

export interface UsRegions {
  /** Regions inside the frame (clipped to it), in item order. */
  readonly regions: readonly UsRegion[];
  /** Items whose coordinates reached past the frame and were clipped. */
  readonly clipped: number;
  /** Items dropped: coordinates missing, inverted, or wholly outside the frame. */
  readonly dropped: number;
}

/** An unsigned long (UL) in the dataset's byte order; undefined when absent or short. */
function ul(items: readonly DataElement[], tag: number, littleEndian: boolean): number | undefined {
  const v = items.find((e) => e.tag === tag)?.value;
  if (!v || v.length < 4) return undefined;
  return new DataView(v.buffer, v.byteOffset, 4).getUint32(0, littleEndian);
}

/** The regions of `ds` against a rows x columns frame; undefined when it has no region sequence. */
export function usRegions(
  ds: readonly DataElement[],
  rows: number,
  columns: number,
  littleEndian = true,
): UsRegions | undefined {
  const sequence = ds.find((e) => e.tag === SEQUENCE_OF_ULTRASOUND_REGIONS);
  if (!sequence?.items) return undefined;
  const regions: UsRegion[] = [];
  let clipped = 0;
  let dropped = 0;
  for (const item of sequence.items) {
    const [x0, y0, x1, y1] = [MIN_X0, MIN_Y0, MAX_X1, MAX_Y1].map((t) => ul(item.elements, t, littleEndian));
    if (x0 === undefined || y0 === undefined || x1 === undefined || y1 === undefined || x1 < x0 || y1 < y0) {
      dropped++;
      continue;
    }
    // Max X1 / Max Y1 are inclusive pixel coordinates (PS3.3 C.8.5.5.1).
    const cx1 = Math.min(x1, columns - 1);
    const cy1 = Math.min(y1, rows - 1);
    if (x0 > cx1 || y0 > cy1) {
      dropped++;
      continue;
    }
    if (cx1 !== x1 || cy1 !== y1) clipped++;
    regions.push({ x: x0, y: y0, width: cx1 - x0 + 1, height: cy1 - y0 + 1 });
  }
  return { regions, clipped, dropped };
}
