/**
 * The synthetic coverage set of the detector: PHI-like strings (names, dates of birth, MRNs,
 * accession numbers, dates, times, institutions) rendered from a fixed seed onto real corpus frames
 * (CT 512x512, the Philips US 1024x768 and 800x600 frames, an MR 1024x768 crop, a colour power
 * Doppler US 640x480) at 7-26 px, white / grey / +45 levels over the local background / dark on a
 * light label / yellow (on colour). Text is drawn with @napi-rs/canvas in the DejaVu fonts of the
 * dejavu-fonts-ttf package (nothing from the system), on the display image the detector sees.
 * Each string's box is its ink (alpha >= 64), measured on a scratch canvas.
 */
import path from "node:path";
import { createRequire } from "node:module";
import { createCanvas, GlobalFonts, type SKRSContext2D } from "@napi-rs/canvas";
import type { Rect } from "../../../src/pixel/config.js";
import type { RgbImage } from "../../../src/pixel/display.js";
import { CORPUS_DIR } from "../../helpers/corpus.js";
import { BOXES, corpusBytes, displayFrame } from "./detector-fixtures.js";
import fs from "node:fs";

const require = createRequire(import.meta.url);
const FONT_DIR = path.join(path.dirname(require.resolve("dejavu-fonts-ttf/package.json")), "ttf");
const FONTS = [
  ["DejaVuSans.ttf", "SynthSans"],
  ["DejaVuSans-Bold.ttf", "SynthSansBold"],
  ["DejaVuSansMono.ttf", "SynthMono"],
  ["DejaVuSerif.ttf", "SynthSerif"],
] as const;
for (const [file, family] of FONTS) GlobalFonts.registerFromPath(path.join(FONT_DIR, file), family);

import { prng } from "../../helpers/prng.js";

const FIRST = [
  "JANE",
  "JOHN",
  "MARIA",
  "AHMED",
  "LI",
  "OLGA",
  "PIERRE",
  "SOFIA",
  "KWAME",
  "ANNA",
  "RAJ",
  "EMMA",
];
const LAST = ["DOE", "SMITH", "GARCIA", "NGUYEN", "MULLER", "OKAFOR", "ROSSI", "KOWALSKI", "TANAKA", "SILVA"];
const PLACES = [
  "St. Mary's Hospital",
  "CCHS CLEVELAND CLINIC",
  "Mercy Medical Center",
  "UNIV HOSP NORTH",
  "Riverside Imaging",
  "General Hospital East",
];

export type Contrast = "white" | "grey" | "plus45" | "dark" | "yellow";

export interface SyntheticString {
  readonly text: string;
  readonly kind: string;
  readonly box: Rect;
  readonly size: number;
  readonly contrast: Contrast;
}

export interface SyntheticFrame {
  readonly base: string;
  readonly img: RgbImage;
  readonly strings: readonly SyntheticString[];
}

function phiString(r: () => number): { text: string; kind: string } {
  const pick = <T>(a: readonly T[]): T => a[Math.floor(r() * a.length)]!;
  const d = (n: number): string => Array.from({ length: n }, () => Math.floor(r() * 10)).join("");
  const mm = String(1 + Math.floor(r() * 12)).padStart(2, "0");
  const dd = String(1 + Math.floor(r() * 28)).padStart(2, "0");
  const yyyy = String(1930 + Math.floor(r() * 90));
  switch (Math.floor(r() * 7)) {
    case 0:
      return {
        kind: "name",
        text: r() < 0.5 ? `${pick(LAST)}^${pick(FIRST)}` : `${pick(FIRST)} ${pick(LAST)}`,
      };
    case 1:
      return { kind: "dob", text: r() < 0.5 ? `DOB: ${mm}/${dd}/${yyyy}` : `Born ${yyyy}-${mm}-${dd}` };
    case 2:
      return { kind: "mrn", text: r() < 0.5 ? `MRN: ${d(8)}` : `ID ${d(3)}-${d(4)}` };
    case 3:
      return { kind: "accession", text: `ACC# A${d(7)}` };
    case 4:
      return { kind: "date", text: r() < 0.5 ? `${dd}.${mm}.${yyyy}` : `${yyyy}/${mm}/${dd}` };
    case 5:
      return {
        kind: "time",
        text: `${String(Math.floor(r() * 24)).padStart(2, "0")}:${d(1)}${d(1)}:${String(Math.floor(r() * 60)).padStart(2, "0")}`,
      };
    default:
      return { kind: "institution", text: pick(PLACES) };
  }
}

interface Base {
  readonly name: string;
  readonly frames: number;
  readonly img: RgbImage;
  /** Text already in the frame: synthetic strings keep clear of it. */
  readonly occupied: readonly Rect[];
  readonly colour: boolean;
}

function crop(img: RgbImage, [x0, y0, w, h]: Rect): RgbImage {
  const data = new Uint8Array(w * h * 3);
  for (let y = 0; y < h; y++)
    data.set(
      img.data.subarray(((y0 + y) * img.width + x0) * 3, ((y0 + y) * img.width + x0 + w) * 3),
      y * w * 3,
    );
  return { width: w, height: h, data };
}

function gtBoxes(name: string): Rect[] {
  const e = BOXES[name]!;
  return [...e.boxes.map((b) => [b[0], b[1], b[2], b[3]] as Rect), ...(e.ignore ?? [])];
}

/** The real frames the strings are drawn on (each loaded once). */
export function bases(): Base[] {
  const frame = (bytes: Buffer): RgbImage => displayFrame(bytes).img;
  const epicard = fs.readFileSync(
    path.join(
      CORPUS_DIR,
      "../realworld/dcm4che_dcm4che__dcm4che-test-data_src_main_resources_US-RGB-8-epicard",
    ),
  );
  return [
    {
      name: "ct-implicit-le-ge",
      frames: 4,
      img: frame(corpusBytes("ct-implicit-le-ge")),
      occupied: [],
      colour: false,
    },
    {
      name: "us-burned-in-yes-philips-phi",
      frames: 4,
      img: frame(corpusBytes("us-burned-in-yes-philips-phi")),
      occupied: gtBoxes("us-burned-in-yes-philips-phi"),
      colour: false,
    },
    {
      name: "us-philips-jpeg-lossless-sv1",
      frames: 3,
      img: frame(corpusBytes("us-philips-jpeg-lossless-sv1", "gdcmconv")),
      occupied: gtBoxes("us-philips-jpeg-lossless-sv1"),
      colour: false,
    },
    {
      name: "us-philips-palette-rle",
      frames: 3,
      img: frame(corpusBytes("us-philips-palette-rle")),
      occupied: gtBoxes("us-philips-palette-rle"),
      colour: false,
    },
    {
      name: "mr-large-explicit-le (1024x768 crop)",
      frames: 3,
      img: crop(frame(corpusBytes("mr-large-explicit-le")), [0, 128, 1024, 768]),
      occupied: [],
      colour: false,
    },
    {
      // GE power Doppler, RGB 640x480: its own text sits in the top band, the colour bar and the
      // bottom-right corner.
      name: "US-RGB-8-epicard (realworld)",
      frames: 3,
      img: frame(epicard),
      occupied: [
        [0, 0, 640, 125],
        [0, 125, 50, 180],
        [390, 445, 250, 35],
      ],
      colour: true,
    },
  ];
}

function overlaps(a: Rect, b: Rect, gap: number): boolean {
  return (
    a[0] - gap < b[0] + b[2] &&
    b[0] - gap < a[0] + a[2] &&
    a[1] - gap < b[1] + b[3] &&
    b[1] - gap < a[1] + a[3]
  );
}

/** Ink box of `text` drawn with textBaseline "top" at (0, 0), and the width of the scratch canvas. */
function inkBox(font: string, text: string, size: number): Rect | null {
  const pad = 8;
  const probe = createCanvas(8, 8).getContext("2d");
  probe.font = font;
  const w = Math.ceil(probe.measureText(text).width) + 2 * pad;
  const h = Math.ceil(size * 1.6) + 2 * pad;
  const ctx = createCanvas(w, h).getContext("2d");
  ctx.font = font;
  ctx.textBaseline = "top";
  ctx.fillStyle = "#fff";
  ctx.fillText(text, pad, pad);
  const a = ctx.getImageData(0, 0, w, h).data;
  let x0 = w;
  let y0 = h;
  let x1 = -1;
  let y1 = -1;
  for (let y = 0; y < h; y++)
    for (let x = 0; x < w; x++)
      if (a[(y * w + x) * 4 + 3]! >= 64) {
        x0 = Math.min(x0, x);
        y0 = Math.min(y0, y);
        x1 = Math.max(x1, x);
        y1 = Math.max(y1, y);
      }
  return x1 < 0 ? null : [x0 - pad, y0 - pad, x1 - x0 + 1, y1 - y0 + 1];
}

function meanGrey(img: RgbImage, [x, y, w, h]: Rect): number {
  let s = 0;
  for (let yy = y; yy < y + h; yy++)
    for (let xx = x; xx < x + w; xx++) {
      const o = (yy * img.width + xx) * 3;
      s += (img.data[o]! + img.data[o + 1]! + img.data[o + 2]!) / 3;
    }
  return s / (w * h);
}

function draw(
  ctx: SKRSContext2D,
  img: RgbImage,
  s: SyntheticString,
  font: string,
  at: [number, number],
): void {
  ctx.font = font;
  ctx.textBaseline = "top";
  const [x, y, w, h] = s.box;
  switch (s.contrast) {
    case "white":
      ctx.fillStyle = "rgb(255,255,255)";
      break;
    case "grey":
      ctx.fillStyle = "rgb(170,170,170)";
      break;
    case "yellow":
      ctx.fillStyle = "rgb(255,255,0)";
      break;
    case "plus45": {
      const g = Math.min(255, Math.round(meanGrey(img, s.box) + 45));
      ctx.fillStyle = `rgb(${g},${g},${g})`;
      break;
    }
    case "dark":
      ctx.fillStyle = "rgb(225,225,225)";
      ctx.fillRect(x - 3, y - 3, w + 6, h + 6);
      ctx.fillStyle = "rgb(25,25,25)";
  }
  ctx.fillText(s.text, at[0], at[1]);
}

const SIZES = [7, 8, 9, 10, 11, 12, 13, 14, 16, 18, 20, 22, 24, 26];

/** The whole set from `seed`: about 5 strings on each of 20 frames. */
export function syntheticSet(seed = 20261202, perFrame = 5): SyntheticFrame[] {
  const r = prng(seed);
  const out: SyntheticFrame[] = [];
  for (const base of bases())
    for (let f = 0; f < base.frames; f++) {
      const { width, height } = base.img;
      const canvas = createCanvas(width, height);
      const ctx = canvas.getContext("2d");
      const rgba = new Uint8ClampedArray(width * height * 4);
      for (let i = 0; i < width * height; i++) {
        rgba.set(base.img.data.subarray(3 * i, 3 * i + 3), 4 * i);
        rgba[4 * i + 3] = 255;
      }
      const image = ctx.createImageData(width, height);
      image.data.set(rgba);
      ctx.putImageData(image, 0, 0);
      const strings: SyntheticString[] = [];
      for (let k = 0; k < perFrame; k++) {
        const { text, kind } = phiString(r);
        const size = SIZES[Math.floor(r() * SIZES.length)]!;
        const family = FONTS[Math.floor(r() * FONTS.length)]![1];
        const contrasts: Contrast[] = base.colour
          ? ["yellow", "yellow", "white", "grey", "plus45", "dark"]
          : ["white", "white", "grey", "plus45", "dark"];
        const contrast = contrasts[Math.floor(r() * contrasts.length)]!;
        const font = `${size}px ${family}`;
        const ink = inkBox(font, text, size);
        if (!ink) continue;
        for (let attempt = 0; attempt < 300; attempt++) {
          const x = 6 + Math.floor(r() * Math.max(1, width - ink[2] - 12)) - ink[0];
          const y = 6 + Math.floor(r() * Math.max(1, height - ink[3] - 12)) - ink[1];
          const box: Rect = [x + ink[0], y + ink[1], ink[2], ink[3]];
          if (box[0] < 4 || box[1] < 4 || box[0] + box[2] > width - 4 || box[1] + box[3] > height - 4)
            continue;
          if (base.occupied.some((o) => overlaps(box, o, 8)) || strings.some((s) => overlaps(box, s.box, 12)))
            continue;
          const s: SyntheticString = { text, kind, box, size, contrast };
          draw(ctx, base.img, s, font, [x, y]);
          strings.push(s);
          break;
        }
      }
      const drawn = ctx.getImageData(0, 0, width, height).data;
      const data = new Uint8Array(width * height * 3);
      for (let i = 0; i < width * height; i++) data.set(drawn.subarray(4 * i, 4 * i + 3), 3 * i);
      out.push({ base: base.name, img: { width, height, data }, strings });
    }
  return out;
}
