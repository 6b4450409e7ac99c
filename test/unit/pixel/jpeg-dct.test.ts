/**
 * DCT-domain JPEG redaction (src/pixel/jpeg-dct) checked with decoders we did not write:
 * libjpeg-turbo's djpeg (every 8-bit stream) and dcmtk's dcmdjpeg (the frames wrapped back into the
 * original DICOM file, 8 and 12-bit). For every case: outside `changed` every decoded sample equals the
 * original decode, inside the requested boxes every sample is the fill, the decoder exits 0.
 * Streams: the corpus' JPEG baseline files (100×100 4:4:4, the 30-frame 320×240 4:2:0 cine), its 4.51
 * 12-bit CT (fragmented, no BOT), and streams made here by cjpeg (restart intervals, 4:2:2, 4:4:0,
 * grayscale, RGB, non-interleaved scans, odd sizes; progressive and arithmetic for the refusals).
 */
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import type { DataElement } from "../../../src/dicom/element.js";
import { readPart10, writePart10 } from "../../../src/dicom/part10.js";
import { tagOf } from "../../../src/dicom/tag.js";
import { asciiValue } from "../../../src/dicom/values.js";
import type { Rect } from "../../../src/pixel/config.js";
import { PixelError } from "../../../src/pixel/errors.js";
import { encapsulate, parseItems } from "../../../src/pixel/frames.js";
import { redactJpegBlocks } from "../../../src/pixel/jpeg-dct/index.js";
import { corpusFile } from "../../helpers/corpus.js";
import { requireTool } from "../../helpers/tools.js";

const PIXEL_DATA = tagOf(0x7fe0, 0x0010);
const HAVE_DJPEG = requireTool("djpeg", "libjpeg-turbo-progs");
const HAVE_CJPEG = requireTool("cjpeg", "libjpeg-turbo-progs");
const HAVE_DCMDJPEG = requireTool("dcmdjpeg", "dcmtk");
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "jpeg-dct-"));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));
let serial = 0;

function tool(name: string, args: string[], input?: Uint8Array): Buffer {
  const r = spawnSync(name, args, { input, maxBuffer: 256 * 1024 * 1024 });
  if (r.status !== 0)
    throw new Error(`${name} ${args.join(" ")} exited ${r.status}: ${r.stderr?.toString()}`);
  return r.stdout;
}

interface Image {
  readonly width: number;
  readonly height: number;
  readonly spp: number;
  /** Interleaved samples, 1 or 2 bytes each (2: little endian). */
  readonly at: (x: number, y: number, s: number) => number;
}

/** djpeg's PNM output (P5 gray / P6 colour, 8-bit). */
function djpeg(jpeg: Uint8Array): Image {
  const pnm = tool("djpeg", ["-pnm"], jpeg);
  const tokens: string[] = [];
  let o = 0;
  while (tokens.length < 4) {
    while (/\s/.test(String.fromCharCode(pnm[o]!))) o++;
    let t = "";
    while (!/\s/.test(String.fromCharCode(pnm[o]!))) t += String.fromCharCode(pnm[o++]!);
    tokens.push(t);
  }
  o++;
  const spp = tokens[0] === "P6" ? 3 : 1;
  const width = Number(tokens[1]);
  const height = Number(tokens[2]);
  const data = pnm.subarray(o);
  expect(data.length).toBe(width * height * spp);
  return { width, height, spp, at: (x, y, s) => data[(y * width + x) * spp + s]! };
}

/** The frames of encapsulated Pixel Data: one per fragment, or (no BOT, fragmented) split at each EOI. */
function jpegFrames(ds: readonly DataElement[], frames: number): Uint8Array[] {
  const frags = parseItems(ds.find((e) => e.tag === PIXEL_DATA)!.fragments!).slice(1);
  if (frags.length === frames) return frags;
  const out: Uint8Array[] = [];
  let parts: Uint8Array[] = [];
  for (const f of frags) {
    parts.push(f);
    let end = f.length;
    while (end > 0 && f[end - 1] === 0) end--;
    if (end >= 2 && f[end - 2] === 0xff && f[end - 1] === 0xd9) {
      out.push(Buffer.concat(parts));
      parts = [];
    }
  }
  expect(out).toHaveLength(frames);
  return out;
}

const text = (ds: readonly DataElement[], g: number, e: number): string =>
  asciiValue(ds.find((x) => x.tag === tagOf(g, e))?.value).trim();

/** The JPEG frames wrapped into the original file and decoded by dcmdjpeg: one Image per frame. */
function dcmdjpeg(file: string, frames: readonly Uint8Array[]): Image[] {
  const parsed = readPart10(corpusFile(file));
  const dataset = parsed.dataset.map((e) =>
    e.tag === PIXEL_DATA ? { ...e, fragments: encapsulate(frames) } : e,
  );
  const input = path.join(tmp, `in-${++serial}.dcm`);
  const output = path.join(tmp, `out-${serial}.dcm`);
  fs.writeFileSync(
    input,
    writePart10({
      dataset,
      transferSyntax: parsed.transferSyntax,
      sopClassUid: text(parsed.dataset, 0x0008, 0x0016),
      sopInstanceUid: text(parsed.dataset, 0x0008, 0x0018),
    }),
  );
  tool("dcmdjpeg", [input, output]);
  const out = readPart10(fs.readFileSync(output));
  const us = (e: number): number => {
    const v = out.dataset.find((x) => x.tag === tagOf(0x0028, e))!.value!;
    return v[0]! | (v[1]! << 8);
  };
  const rows = us(0x0010);
  const cols = us(0x0011);
  const spp = us(0x0002);
  const bps = us(0x0100) / 8;
  const planar = spp > 1 && us(0x0006) === 1;
  const pixels = out.dataset.find((x) => x.tag === PIXEL_DATA)!.value!;
  const frameBytes = rows * cols * spp * bps;
  expect(pixels.length).toBeGreaterThanOrEqual(frameBytes * frames.length);
  return frames.map((_, f) => {
    const base = f * frameBytes;
    const at = (x: number, y: number, s: number): number => {
      const i = planar ? s * rows * cols + y * cols + x : (y * cols + x) * spp + s;
      return bps === 1 ? pixels[base + i]! : pixels[base + 2 * i]! | (pixels[base + 2 * i + 1]! << 8);
    };
    return { width: cols, height: rows, spp, at };
  });
}

const inRects = (rects: readonly Rect[], x: number, y: number): boolean =>
  rects.some(([rx, ry, rw, rh]) => x >= rx && x < rx + rw && y >= ry && y < ry + rh);

/** Every sample outside `changed` equal to the original decode, every sample inside `boxes` = fill. */
function check(
  before: Image,
  after: Image,
  boxes: readonly Rect[],
  changed: readonly Rect[],
  fill: number,
): void {
  expect([after.width, after.height, after.spp]).toEqual([before.width, before.height, before.spp]);
  let inside = 0;
  for (let y = 0; y < before.height; y++)
    for (let x = 0; x < before.width; x++) {
      const isBox = inRects(boxes, x, y);
      const isChanged = inRects(changed, x, y);
      if (isBox && !isChanged) throw new Error(`(${x},${y}) is in a box but not in changed`);
      for (let s = 0; s < before.spp; s++) {
        if (isBox) {
          if (after.at(x, y, s) !== fill) throw new Error(`(${x},${y}) sample ${s} is not the fill`);
          inside++;
        } else if (!isChanged) {
          if (after.at(x, y, s) !== before.at(x, y, s)) throw new Error(`(${x},${y}) sample ${s} changed`);
        }
      }
    }
  if (boxes.length > 0) expect(inside).toBeGreaterThan(0);
}

const CINE = "us-multiframe-jpeg-baseline-ybr.dcm";
const SC = "sc-rgb-jpeg-baseline-utf8.dcm";
const CT12 = "ct-enhanced-multiframe-jpeg-extended.dcm";

function corpusFrames(file: string, n: number): Uint8Array[] {
  return jpegFrames(readPart10(corpusFile(file)).dataset, n);
}

// 320×240, SOF 4:2:0 (MCU 16×16): a PHI-like bar, a box exactly on MCU edges, one at the bottom-right
// border, two overlapping, the whole frame, and no box at all.
const CINE_CASES: Record<string, Rect[]> = {
  "text bar": [[37, 5, 90, 21]],
  "on MCU edges": [[32, 48, 32, 16]],
  "one pixel": [[17, 17, 1, 1]],
  "image border": [[300, 225, 20, 15]],
  overlapping: [
    [10, 100, 60, 40],
    [50, 120, 60, 40],
  ],
  "whole frame": [[0, 0, 320, 240]],
  "no box": [],
};

describe.runIf(HAVE_DJPEG && HAVE_DCMDJPEG)("corpus JPEG baseline, checked by djpeg and dcmdjpeg", () => {
  const cine = corpusFrames(CINE, 30);
  const cineBefore = cine.map(djpeg);
  const cineDcmtk = dcmdjpeg(CINE, cine);

  for (const [name, boxes] of Object.entries(CINE_CASES))
    it(`us cine 320×240 4:2:0, all 30 frames: ${name}`, () => {
      const results = cine.map((f) => redactJpegBlocks(f, boxes, "black"));
      results.forEach((r, i) => check(cineBefore[i]!, djpeg(r.jpeg), boxes, r.changed, 0));
      const after = dcmdjpeg(
        CINE,
        results.map((r) => r.jpeg),
      );
      results.forEach((r, i) => check(cineDcmtk[i]!, after[i]!, boxes, r.changed, 0));
      if (boxes.length === 0) for (const r of results) expect(r.changed).toEqual([]);
      // Optimal tables: never larger than the original's by more than a DHT's worth.
      for (let i = 0; i < 30; i++) expect(results[i]!.jpeg.length).toBeLessThanOrEqual(cine[i]!.length + 64);
    });

  it("us cine: `changed` is the MCU-snapped box grown for chroma upsampling, clipped", () => {
    // 37..127 × 5..26 grows by one chroma sample (2 px) to 35..129 × 3..28, snaps to MCUs 32..144 ×
    // 0..32, and takes the one-pixel upsampling margin: 31..145 × 0..33.
    expect(redactJpegBlocks(cine[0]!, [[37, 5, 90, 21]], "black").changed).toEqual([[31, 0, 114, 33]]);
    expect(redactJpegBlocks(cine[0]!, [[0, 0, 320, 240]], "black").changed).toEqual([[0, 0, 320, 240]]);
    expect(redactJpegBlocks(cine[0]!, [[400, 300, 10, 10]], "black").changed).toEqual([]);
  });

  it("us cine: white fill", () => {
    const boxes: Rect[] = [[37, 5, 90, 21]];
    const r = redactJpegBlocks(cine[3]!, boxes, "white");
    check(cineBefore[3]!, djpeg(r.jpeg), boxes, r.changed, 255);
  });

  it("sc-rgb 100×100 4:4:4 (YBR_FULL)", () => {
    const [frame] = corpusFrames(SC, 1);
    const before = djpeg(frame!);
    const dcmtkBefore = dcmdjpeg(SC, [frame!])[0]!;
    for (const boxes of [
      [[37, 5, 40, 21]],
      [[0, 0, 8, 8]],
      [
        [95, 95, 5, 5],
        [3, 50, 30, 2],
      ],
      [[0, 0, 100, 100]],
      [],
    ] as Rect[][]) {
      const r = redactJpegBlocks(frame!, boxes, "black");
      check(before, djpeg(r.jpeg), boxes, r.changed, 0);
      check(dcmtkBefore, dcmdjpeg(SC, [r.jpeg])[0]!, boxes, r.changed, 0);
      if (boxes.length === 1 && boxes[0]![2] === 8) expect(r.changed).toEqual([[0, 0, 8, 8]]);
    }
  });
});

describe.runIf(HAVE_DJPEG && HAVE_DCMDJPEG && HAVE_CJPEG)("time per frame", () => {
  const median = (f: () => void, runs: number): number => {
    for (let i = 0; i < 5; i++) f();
    const t: number[] = [];
    for (let i = 0; i < runs; i++) {
      const t0 = performance.now();
      f();
      t.push(performance.now() - t0);
    }
    return t.sort((a, b) => a - b)[runs >> 1]!;
  };

  it("320×240 cine frame and a 1024×768 US frame stay far inside the issue's budget", () => {
    const cine = corpusFrames(CINE, 30);
    let i = 0;
    const cineMs = median(() => redactJpegBlocks(cine[i++ % 30]!, [[37, 5, 90, 21]], "black"), 30);
    // A real 1024×768 US image (the corpus' JPEG lossless file, decoded by dcmdjpeg) as 4:2:0 q90.
    const file = "us-philips-jpeg-lossless-sv1.dcm";
    const us = dcmdjpeg(file, corpusFrames(file, 1))[0]!;
    expect([us.width, us.height]).toEqual([1024, 768]);
    const rgb = Buffer.alloc(us.width * us.height * 3);
    for (let y = 0; y < us.height; y++)
      for (let x = 0; x < us.width; x++) {
        const o = (y * us.width + x) * 3;
        rgb.fill(us.at(x, y, 0), o, o + 3);
      }
    const header = Buffer.from(`P6\n${us.width} ${us.height}\n255\n`);
    const big = tool("cjpeg", ["-quality", "90"], Buffer.concat([header, rgb]));
    const bigMs = median(() => redactJpegBlocks(big, [[100, 20, 300, 40]], "black"), 9);
    console.log(
      `jpeg-dct: 320x240 cine ${cineMs.toFixed(1)} ms/frame, 1024x768 ${bigMs.toFixed(1)} ms/frame`,
    );
    // Measured 1-3 ms and 10-20 ms on the shared 2-core machine; the bounds only catch a regression
    // by an order of magnitude (the budget is 500 ms for a 1024×768 frame).
    expect(cineMs).toBeLessThan(30);
    expect(bigMs).toBeLessThan(200);
  });
});

describe.runIf(HAVE_DCMDJPEG)(
  "corpus JPEG extended 12-bit (4.51, fragmented, no BOT), checked by dcmdjpeg",
  () => {
    const frames = corpusFrames(CT12, 2);
    const before = dcmdjpeg(CT12, frames);

    for (const [fill, value] of [
      ["black", 0],
      ["white", 4095],
    ] as const)
      it(`512×512 MONOCHROME2, both frames, ${fill}`, () => {
        const boxes: Rect[] = [
          [0, 0, 200, 13],
          [250, 250, 8, 8],
          [500, 490, 12, 22],
        ];
        const results = frames.map((f) => redactJpegBlocks(f, boxes, fill));
        const after = dcmdjpeg(
          CT12,
          results.map((r) => r.jpeg),
        );
        results.forEach((r, i) => check(before[i]!, after[i]!, boxes, r.changed, value));
        expect(results[0]!.changed).toEqual([
          [0, 0, 200, 16],
          [248, 248, 16, 16],
          [496, 488, 16, 24],
        ]);
      });

    it("no box: the same decoded image", () => {
      const results = frames.map((f) => redactJpegBlocks(f, [], "black"));
      const after = dcmdjpeg(
        CT12,
        results.map((r) => r.jpeg),
      );
      results.forEach((r, i) => check(before[i]!, after[i]!, [], r.changed, 0));
    });
  },
);

/** A test picture with edges, gradients and texture, so every block has AC coefficients. */
function ppm(width: number, height: number): Buffer {
  const header = Buffer.from(`P6\n${width} ${height}\n255\n`);
  const px = Buffer.alloc(width * height * 3);
  for (let y = 0; y < height; y++)
    for (let x = 0; x < width; x++) {
      const o = (y * width + x) * 3;
      px[o] = (x * 3 + ((x * y) % 37) * 4) & 255;
      px[o + 1] = (y * 5 + (x ^ y)) & 255;
      px[o + 2] = ((x + y) * 2 + ((x >> 3) & 1) * 90) & 255;
    }
  return Buffer.concat([header, px]);
}

function cjpeg(args: string[], width = 77, height = 53): Buffer {
  return tool("cjpeg", args, ppm(width, height));
}

function markers(jpeg: Uint8Array): number[] {
  const out: number[] = [];
  for (let i = 0; i + 1 < jpeg.length; i++) if (jpeg[i] === 0xff && jpeg[i + 1] !== 0) out.push(jpeg[i + 1]!);
  return out;
}

/** The segments other than DHT, as hex strings, in order, up to the first SOS. */
function headerSegments(jpeg: Uint8Array): string[] {
  const out: string[] = [];
  let p = 2;
  for (;;) {
    const m = jpeg[p + 1]!;
    const length = (jpeg[p + 2]! << 8) | jpeg[p + 3]!;
    if (m !== 0xc4) out.push(Buffer.from(jpeg.subarray(p, p + 2 + length)).toString("hex"));
    if (m === 0xda) return out;
    p += 2 + length;
  }
}

describe.runIf(HAVE_CJPEG && HAVE_DJPEG)("streams made by cjpeg, checked by djpeg", () => {
  const scanScript = path.join(tmp, "scans.txt");
  fs.writeFileSync(scanScript, "0;\n1;\n2;\n");
  const CASES: Record<string, { args: string[]; width?: number; height?: number; fill?: number }> = {
    "4:2:0 with a restart marker after every MCU": { args: ["-restart", "1B"] },
    "4:2:2 with a restart marker every MCU row": { args: ["-sample", "2x1", "-restart", "1"] },
    "4:4:0 (1x2)": { args: ["-sample", "1x2"] },
    "4:4:4, restart every 3 MCUs": { args: ["-sample", "1x1", "-restart", "3B"] },
    "4:1:1 (4x1)": { args: ["-sample", "4x1"], width: 101 },
    grayscale: { args: ["-grayscale", "-restart", "2B"] },
    "RGB (Adobe transform 0): every component at its minimum": { args: ["-rgb"] },
    "non-interleaved: one scan per component, 4:2:0": { args: ["-scans", scanScript, "-restart", "1B"] },
    "quality 100 (DC quantiser 1)": { args: ["-quality", "100", "-sample", "2x2"] },
    "quality 5 (coarse DC quantiser)": { args: ["-quality", "5"] },
  };
  const BOXES: Rect[][] = [
    [[13, 9, 20, 11]],
    // On MCU edges (16 and 32 are edges of every MCU size here): the box must grow for fancy upsampling.
    [[16, 16, 16, 16]],
    [[32, 8, 8, 24]],
    [[0, 0, 1, 1]],
    [[70, 40, 7, 13]],
    [
      [5, 30, 30, 5],
      [20, 20, 5, 30],
    ],
    [[0, 0, 1000, 1000]],
    [],
  ];
  for (const [name, c] of Object.entries(CASES))
    it(name, () => {
      const jpeg = cjpeg(c.args, c.width, c.height);
      const before = djpeg(jpeg);
      for (const boxes of BOXES)
        for (const [fill, value] of [
          ["black", 0],
          ["white", 255],
        ] as const) {
          const r = redactJpegBlocks(jpeg, boxes, fill);
          check(before, djpeg(r.jpeg), boxes, r.changed, value);
          // Restart markers come back at the same MCUs; every other header segment verbatim.
          expect(markers(r.jpeg).filter((m) => m >= 0xd0 && m <= 0xd7)).toEqual(
            markers(jpeg).filter((m) => m >= 0xd0 && m <= 0xd7),
          );
          expect(headerSegments(r.jpeg)).toEqual(headerSegments(jpeg));
        }
    });

  it("restart intervals are kept: the count of RST markers is unchanged", () => {
    const jpeg = cjpeg(["-restart", "1B"]);
    const rst = markers(jpeg).filter((m) => m >= 0xd0 && m <= 0xd7).length;
    expect(rst).toBe(Math.ceil(77 / 16) * Math.ceil(53 / 16) - 1);
    const r = redactJpegBlocks(jpeg, [[10, 10, 20, 20]], "black");
    expect(markers(r.jpeg).filter((m) => m >= 0xd0 && m <= 0xd7).length).toBe(rst);
  });

  it("re-encoding with optimal tables does not grow a stream cjpeg wrote with standard tables", () => {
    const jpeg = cjpeg(["-quality", "90"], 320, 240);
    const r = redactJpegBlocks(jpeg, [], "black");
    expect(r.jpeg.length).toBeLessThan(jpeg.length);
    check(djpeg(jpeg), djpeg(r.jpeg), [], r.changed, 0);
  });

  const refuses = (jpeg: Uint8Array, code: string): void => {
    let error: unknown;
    try {
      redactJpegBlocks(jpeg, [[0, 0, 8, 8]], "black");
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(PixelError);
    expect((error as PixelError).code).toBe(code);
  };

  it("progressive and arithmetic streams: PIXEL_UNSUPPORTED_SYNTAX", () => {
    refuses(cjpeg(["-progressive"]), "PIXEL_UNSUPPORTED_SYNTAX");
    refuses(cjpeg(["-arithmetic"]), "PIXEL_UNSUPPORTED_SYNTAX");
  });

  it("truncated or damaged streams: PIXEL_CODEC_ERROR", () => {
    const jpeg = cjpeg(["-restart", "1B"], 160, 120);
    for (const cut of [2, 100, jpeg.length >> 1, jpeg.length - 200, jpeg.length - 2])
      refuses(jpeg.subarray(0, cut), "PIXEL_CODEC_ERROR");
    // Entropy data cut short but properly terminated by EOI.
    refuses(
      Buffer.concat([jpeg.subarray(0, jpeg.length >> 1), Buffer.from([0xff, 0xd9])]),
      "PIXEL_CODEC_ERROR",
    );
    // A restart marker out of sequence.
    const damaged = Buffer.from(jpeg);
    const firstRst = damaged.findIndex((b, i) => b === 0xff && damaged[i + 1] === 0xd0);
    damaged[firstRst + 1] = 0xd3;
    refuses(damaged, "PIXEL_CODEC_ERROR");
    refuses(Buffer.from("not a jpeg at all"), "PIXEL_CODEC_ERROR");
  });

  it("damaged bytes anywhere: a PixelError or a stream djpeg decodes cleanly, never another error", () => {
    const jpeg = cjpeg(["-restart", "2B", "-sample", "2x1"], 48, 40);
    let seed = 0x9e3779b9;
    const random = (n: number): number => {
      seed = (seed + 0x6d2b79f5) | 0;
      let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
      t ^= t + Math.imul(t ^ (t >>> 7), 61 | t);
      return ((t ^ (t >>> 14)) >>> 0) % n;
    };
    let refused = 0;
    let edited = 0;
    for (let i = 0; i < 300; i++) {
      const damaged = Buffer.from(jpeg);
      for (let k = 0, n = 1 + random(3); k < n; k++) damaged[random(damaged.length)] = random(256);
      let out: Uint8Array | undefined;
      try {
        out = redactJpegBlocks(damaged, [[8, 8, 16, 16]], "black").jpeg;
      } catch (e) {
        if (!(e instanceof PixelError)) throw e;
        refused++;
        continue;
      }
      const r = spawnSync("djpeg", ["-pnm"], { input: out, maxBuffer: 1 << 24 });
      // Exit 2 = warnings only: allowed for header segments copied verbatim (a damaged JFIF version),
      // never for the entropy-coded data we wrote.
      const warning = r.status === 2 && !/corrupt|premature|extraneous/i.test(String(r.stderr));
      if (r.status !== 0 && !warning)
        throw new Error(`djpeg exited ${r.status} on the output for damage #${i}: ${r.stderr}`);
      edited++;
    }
    expect(refused).toBeGreaterThan(0);
    expect(edited).toBeGreaterThan(0);
  });
});
