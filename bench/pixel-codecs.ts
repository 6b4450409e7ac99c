/**
 * Pixel codecs per transfer syntax on the corpus' compressed files: WASM load time per family, decode
 * and encode ms per frame (medians of --runs), the whole clean step per frame (decode, fill a box,
 * encode, decode again and check), and the size of the written Pixel Data against the original.
 *
 *   npm run build && node dist/bench/pixel-codecs.js [--runs 5] [--corpus ../shared/corpus/public]
 */
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { readPart10 } from "../src/dicom/part10.js";
import { tagOf } from "../src/dicom/tag.js";
import { transferSyntaxOf } from "../src/dicom/transfer-syntax.js";
import { asciiValue } from "../src/dicom/values.js";
import { loadCodecs, syntaxCodec } from "../src/pixel/codecs.js";
import { encodeHtj2kLossless } from "../src/pixel/codecs/htj2k.js";
import { encodeJpegLosslessSv1 } from "../src/pixel/codecs/jpeg.js";
import type { PixelConfig, Rect } from "../src/pixel/config.js";
import { encapsulate, encapsulatedFrames } from "../src/pixel/frames.js";
import { cleanPixelData, decodeFrames } from "../src/pixel/index.js";

const here = path.dirname(fileURLToPath(import.meta.url));
const { values } = parseArgs({
  options: {
    runs: { type: "string", default: "5" },
    corpus: { type: "string", default: path.resolve(here, "../../../shared/corpus/public") },
  },
});
const runs = Number(values.runs);
const PIXEL_DATA = 0x7fe00010;

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}
function time(fn: () => void): number {
  const out: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t = performance.now();
    fn();
    out.push(performance.now() - t);
  }
  return median(out);
}

const FILES = [
  "sc-rgb-jpeg-baseline-utf8",
  "us-multiframe-jpeg-baseline-ybr",
  "ct-enhanced-multiframe-jpeg-extended",
  "ct-enhanced-multiframe-jpeg-lossless-p14",
  "pt-ge-jpeg-lossless",
  "mr-siemens-csa-jpeg-lossless-sv1",
  "us-philips-jpeg-lossless-sv1",
  "mg-ge-senographe-large",
  "mr-small-jpeg-ls-lossless",
  "ct-enhanced-multiframe-jpeg-ls-near-lossless",
  "mr-siemens-csa-jpeg2000-lossless",
  "cr-jpeg2000-lossy",
  "nm-jpeg2000-lossy-ge-genie",
];

async function main(): Promise<void> {
  console.log("| family | WASM load ms |\n|---|---|");
  for (const [name, uid] of [
    ["JPEG (dcmjs-codecs)", "4.50"],
    ["JPEG-LS (CharLS)", "4.80"],
    ["JPEG 2000 (OpenJPEG)", "4.90"],
    ["HTJ2K (+OpenJPH)", "4.201"],
  ] as const) {
    const t = performance.now();
    await loadCodecs(transferSyntaxOf(`1.2.840.10008.1.2.${uid}`)!);
    console.log(`| ${name} | ${(performance.now() - t).toFixed(0)} |`);
  }
  console.log(
    "\n| file | syntax | frame | frames | decode ms/frame | encode ms/frame | clean ms/frame | written syntax | size ratio |",
  );
  console.log("|---|---|---|---|---|---|---|---|---|");
  const rows: [string, Buffer][] = FILES.map((f) => [
    f,
    fs.readFileSync(path.join(values.corpus, `${f}.dcm`)),
  ]);
  // HTJ2K: no corpus file; the J2K MR and the 1024x768 ultrasound encoded here.
  for (const [source, label] of [
    ["mr-siemens-csa-jpeg2000-lossless", "htj2k-mr (encoded here)"],
    ["us-philips-jpeg-lossless-sv1", "htj2k-us (encoded here)"],
  ] as const) {
    const parsed = readPart10(rows.find(([f]) => f === source)![1]);
    const { frames, module: px } = decodeFrames(parsed.dataset, parsed.transferSyntax);
    const element = {
      tag: PIXEL_DATA,
      vr: "OB",
      fragments: encapsulate(frames.map((f) => encodeHtj2kLossless(f, px, false))),
      undefinedLength: true,
    };
    rows.push([label, Buffer.alloc(0)]);
    htj2k.set(label, {
      dataset: parsed.dataset.map((e) => (e.tag === PIXEL_DATA ? element : e)),
      transferSyntax: transferSyntaxOf("1.2.840.10008.1.2.4.201")!,
    });
  }
  for (const [name, bytes] of rows) {
    const parsed = htj2k.get(name) ?? readPart10(bytes);
    const ts = parsed.transferSyntax;
    const pixel = parsed.dataset.find((e) => e.tag === PIXEL_DATA)!;
    const { frames, module: px } = decodeFrames(parsed.dataset, ts);
    const codec = syntaxCodec(ts.uid)!;
    const stored = encapsulatedFrames(pixel.fragments!, px.frames, codec.startsFrame);
    const n = px.frames;
    const decode = time(() => stored.forEach((f) => codec.decode(f, px))) / n;
    const encoder = codec.encode ?? encodeJpegLosslessSv1;
    const encode = time(() => frames.forEach((f) => encoder(f, px))) / n;
    const box: Rect = [
      Math.floor(px.cols / 4),
      Math.floor(px.rows / 4),
      Math.ceil(px.cols / 3),
      Math.ceil(px.rows / 5),
    ];
    const config: PixelConfig = {
      detector: false,
      padding: 0,
      scope: { modalities: [], sopClasses: [], burnedInAnnotationYes: true },
      unmatched: "reject",
      lossy: "transcode",
      templates: [
        {
          manufacturer: asciiValue(parsed.dataset.find((e) => e.tag === tagOf(0x0008, 0x0070))?.value).trim(),
          model: asciiValue(parsed.dataset.find((e) => e.tag === tagOf(0x0008, 0x1090))?.value).trim(),
          rows: px.rows,
          columns: px.cols,
          boxes: [box],
        },
      ],
    };
    let result = cleanPixelData(parsed.dataset, ts, config);
    const clean = time(() => (result = cleanPixelData(parsed.dataset, ts, config))) / n;
    const ratio = result.element.fragments!.length / pixel.fragments!.length;
    const written = (result.transferSyntax ?? ts).uid.replace("1.2.840.10008.1.2.", "");
    console.log(
      `| ${name} | ${ts.uid.replace("1.2.840.10008.1.2.", "")} | ${px.cols}x${px.rows} ${px.bitsStored}b${px.spp > 1 ? " RGB" : ""} | ${n} | ${decode.toFixed(1)} | ${encode.toFixed(1)} | ${clean.toFixed(1)} | ${written} | ${ratio.toFixed(2)} |`,
    );
  }
}

const htj2k = new Map<
  string,
  {
    dataset: ReturnType<typeof readPart10>["dataset"];
    transferSyntax: NonNullable<ReturnType<typeof transferSyntaxOf>>;
  }
>();

void main();
