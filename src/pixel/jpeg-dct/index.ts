/**
 * JPEG (Huffman, sequential DCT: baseline 1.2.840.10008.1.2.4.50 and extended 4.51) redaction in the
 * compressed domain: the quantised coefficients of every block an MCU-snapped box touches are set to
 * the fill, everything else is carried over bit for bit (no generation loss).
 *
 * Contract (the pipeline's verifier checks it with its own decoder):
 * - every pixel inside the requested boxes decodes to the fill ("black": the darkest value of the
 *   image's colour space, e.g. Y 0 / Cb Cr mid for YCbCr; "white": the brightest, for MONOCHROME1);
 * - every pixel outside `changed` decodes exactly as it did before (also with a decoder's fancy
 *   upsampling of subsampled chroma, which is why `changed` may be wider than the MCUs edited);
 * - anything the module cannot edit safely (progressive, arithmetic, lossless, hierarchical,
 *   malformed) throws PixelError, never returns a stream that was not edited.
 *
 * How: the marker segments are split (syntax.ts), every scan is entropy-decoded to quantised
 * coefficients (decode.ts), the blocks of the touched MCUs get DC = fill and AC = 0 (edit.ts), and each
 * scan is re-encoded with optimal Huffman tables (huffman.ts, encode.ts; a new DHT right before each
 * SOS, the original DHTs dropped). Every other segment (APPn, COM, DQT, SOF, DRI, SOS) is copied
 * verbatim in its order; restart markers come back at the same MCUs. Supported: SOF0/SOF1, 8 or 12-bit,
 * 1 or 3 components, any integral sampling factors, interleaved or non-interleaved scans, DRI/RSTn.
 */
import type { Rect } from "../config.js";
import { PixelError } from "../errors.js";
import { decodeScan, type ScanComponent } from "./decode.js";
import { applyEdit, fillDc, planEdit, type Level } from "./edit.js";
import { countScan, encodeScan, type EncodeComponent } from "./encode.js";
import {
  buildDecodeTable,
  buildEncodeTable,
  optimalSpec,
  type DecodeTable,
  type HuffmanSpec,
} from "./huffman.js";
import {
  codecError,
  colourMarkers,
  DHT,
  DQT,
  DRI,
  isRgb,
  parseDht,
  parseDqt,
  parseDri,
  parseSof,
  parseSos,
  SOF0,
  SOF1,
  SOS,
  splitSegments,
  type Frame,
  type Segment,
} from "./syntax.js";

export interface DctRedaction {
  /** The new JPEG stream. */
  readonly jpeg: Uint8Array;
  /** Where the decoded image may differ from the original: the boxes snapped outward, clipped to the frame. */
  readonly changed: readonly Rect[];
  /** For each of `changed`, the index (in the boxes given) of the box it was changed for. */
  readonly changedFor: readonly number[];
}

/** Coefficient memory is bounded: 2^20 blocks (128 MiB of Int16), about a 4096×4096 4:4:4 frame. */
const MAX_BLOCKS = 1 << 20;

interface Scan {
  readonly segment: Segment;
  readonly comps: readonly EncodeComponent[];
  readonly restartInterval: number;
}

interface Decoded {
  readonly frame: Frame;
  readonly coefs: Int16Array[];
  /** Per component and block: the zig-zag index of the last non-zero AC coefficient (0: none). */
  readonly ends: Uint8Array[];
  readonly scans: readonly Scan[];
  /** The DC quantiser each component was decoded with. */
  readonly q0: readonly number[];
  readonly rgb: boolean;
}

function decodeAll(jpeg: Uint8Array, segments: readonly Segment[]): Decoded {
  let frame: Frame | undefined;
  let coefs: Int16Array[] = [];
  let ends: Uint8Array[] = [];
  const q0Tables: number[] = [];
  const dcSpecs: HuffmanSpec[] = [];
  const acSpecs: HuffmanSpec[] = [];
  const decodeTables = new Map<HuffmanSpec, DecodeTable>();
  const table = (spec: HuffmanSpec | undefined): DecodeTable => {
    if (spec === undefined) throw codecError("scan uses a Huffman table that is not defined");
    let t = decodeTables.get(spec);
    if (t === undefined) decodeTables.set(spec, (t = buildDecodeTable(spec)));
    return t;
  };
  let restartInterval = 0;
  const seen = { jfif: false, adobe: undefined as number | undefined };
  const scans: Scan[] = [];
  const q0: number[] = [];
  for (const s of segments) {
    if (s.marker === SOF0 || s.marker === SOF1) {
      if (frame !== undefined) throw codecError("stream has more than one SOF");
      frame = parseSof(jpeg, s);
      const blocks = frame.comps.reduce((a, c) => a + c.bw * c.bh, 0);
      if (blocks > MAX_BLOCKS)
        throw new PixelError(
          "PIXEL_UNSUPPORTED_SYNTAX",
          `JPEG frame has ${blocks} blocks, more than the block edit holds`,
        );
      // Every coded block takes at least 2 bits: a frame far larger than its data is truncated.
      if (blocks > 8 * jpeg.length + 4096) throw codecError("entropy-coded data is truncated");
      coefs = frame.comps.map((c) => new Int16Array(c.bw * c.bh * 64));
      ends = frame.comps.map((c) => new Uint8Array(c.bw * c.bh));
    } else if (s.marker === DQT) parseDqt(jpeg, s, q0Tables);
    else if (s.marker === DHT) parseDht(jpeg, s, dcSpecs, acSpecs);
    else if (s.marker === DRI) restartInterval = parseDri(jpeg, s);
    // libjpeg decides the colour space at the first SOS from the markers seen so far.
    else if (s.marker >= 0xe0 && s.marker <= 0xef && scans.length === 0) colourMarkers(jpeg, s, seen);
    else if (s.marker === SOS) {
      if (frame === undefined) throw codecError("SOS before SOF");
      const header = parseSos(jpeg, s, frame);
      const comps: ScanComponent[] = header.comps.map((c) => {
        if (q0[c.index] !== undefined) throw codecError("a component is coded in more than one scan");
        const q = q0Tables[frame!.comps[c.index]!.tq];
        if (q === undefined || q === 0)
          throw codecError("scan uses a quantisation table that is not defined");
        q0[c.index] = q;
        return { index: c.index, dc: table(dcSpecs[c.td]), ac: table(acSpecs[c.ta]) };
      });
      decodeScan(jpeg, s.end, s.dataEnd, frame, comps, restartInterval, coefs, ends);
      scans.push({ segment: s, comps: header.comps, restartInterval });
    }
  }
  if (frame === undefined) throw codecError("stream has no SOF");
  if (frame.comps.some((_, i) => q0[i] === undefined)) throw codecError("a component has no scan");
  return { frame, coefs, ends, scans, q0, rgb: isRgb(frame, seen) };
}

function dhtSegment(tables: readonly { tc: number; th: number; spec: HuffmanSpec }[]): Uint8Array {
  const length = 2 + tables.reduce((a, t) => a + 17 + t.spec.values.length, 0);
  const out = new Uint8Array(2 + length);
  out.set([0xff, DHT, length >> 8, length & 255]);
  let o = 4;
  for (const t of tables) {
    out[o] = (t.tc << 4) | t.th;
    out.set(t.spec.bits.subarray(1, 17), o + 1);
    out.set(t.spec.values, o + 17);
    o += 17 + t.spec.values.length;
  }
  return out;
}

/** DHT with the optimal tables for this scan's symbols, and the scan's entropy-coded data. */
function encodeWithOptimalTables(d: Decoded, scan: Scan, capacity: number): Uint8Array[] {
  const dcFreq = [0, 1, 2, 3].map(() => new Int32Array(256));
  const acFreq = [0, 1, 2, 3].map(() => new Int32Array(256));
  countScan(d.frame, scan.comps, scan.restartInterval, d.coefs, d.ends, dcFreq, acFreq);
  const tables: { tc: number; th: number; spec: HuffmanSpec }[] = [];
  const dc: ReturnType<typeof buildEncodeTable>[] = [];
  const ac: ReturnType<typeof buildEncodeTable>[] = [];
  for (const th of new Set(scan.comps.map((c) => c.td))) {
    const spec = optimalSpec(dcFreq[th]!);
    tables.push({ tc: 0, th, spec });
    dc[th] = buildEncodeTable(spec);
  }
  for (const th of new Set(scan.comps.map((c) => c.ta))) {
    const spec = optimalSpec(acFreq[th]!);
    tables.push({ tc: 1, th, spec });
    ac[th] = buildEncodeTable(spec);
  }
  const data = encodeScan(d.frame, scan.comps, scan.restartInterval, d.coefs, d.ends, dc, ac, capacity);
  return [dhtSegment(tables), data];
}

export function redactJpegBlocks(
  jpeg: Uint8Array,
  boxes: readonly Rect[],
  fill: "black" | "white",
): DctRedaction {
  const segments = splitSegments(jpeg);
  const d = decodeAll(jpeg, segments);
  const { frame } = d;
  const extreme: Level = fill === "black" ? "min" : "max";
  const levels = frame.comps.map((_, i): Level =>
    frame.comps.length === 3 && !d.rgb && i > 0 ? "mid" : extreme,
  );
  const fillValues = levels.map((level, i) => fillDc(frame.precision, d.q0[i]!, level));
  const plan = planEdit(frame, boxes);
  applyEdit(frame, plan, d.coefs, d.ends, fillValues);

  const parts: Uint8Array[] = [Uint8Array.of(0xff, 0xd8)];
  for (const s of segments) {
    if (s.marker === DHT) continue; // replaced by the optimal tables written before each SOS
    if (s.marker === SOS) {
      const scan = d.scans.find((x) => x.segment === s)!;
      const [dht, data] = encodeWithOptimalTables(d, scan, s.dataEnd - s.end + 1024);
      parts.push(dht!, jpeg.subarray(s.start, s.end), data!);
    } else parts.push(jpeg.subarray(s.start, s.end));
  }
  parts.push(Uint8Array.of(0xff, 0xd9));
  const out = new Uint8Array(parts.reduce((a, p) => a + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return { jpeg: out, changed: plan.changed, changedFor: plan.changedFor };
}
