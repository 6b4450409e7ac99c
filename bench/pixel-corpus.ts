/**
 * npm run bench:pixel-corpus: every pixel-bearing file of both shared corpora through the pixel step,
 * whatever its modality, tabulated per transfer syntax: cleaned (decoded, filled, encoded, re-decoded
 * and checked), or refused with which code. Each cleaned output is then decoded by a reference
 * decoder we did not write (dcmtk for JPEG, JPEG-LS and RLE; GDCM for JPEG 2000 and HTJ2K; the file
 * as it is for native syntaxes) and compared sample for sample with our own decode of it.
 *
 *   npm run bench:pixel-corpus -- [--detector] [--limit N] [--json out.json]
 *
 * Without --detector the boxes are the shipped templates only (most files have none: then the
 * frames go through decode -> encode -> verify unchanged, which is the codec round trip); with it
 * the PP-OCRv4 detector runs on every distinct frame (slow on large multi-frame files).
 */
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { readPart10 } from "../src/dicom/part10.js";
import { PIXEL_DATA } from "../src/dicom/tag.js";
import { anonymizeInstance } from "../src/engine/anonymize.js";
import { UidMapper } from "../src/engine/uid-map.js";
import { loadCodecs } from "../src/pixel/codecs.js";
import { sofSize } from "../src/pixel/codecs/jpeg.js";
import { encapsulatedFrames } from "../src/pixel/frames.js";
import { decodeFrames } from "../src/pixel/index.js";
import { pixelModule, type PixelModule } from "../src/pixel/module.js";
import { runPixelStep } from "../src/pixel/step.js";
import { ProfileRegistry } from "../src/profiles/registry.js";

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, "../..");
const corpora = ["public", "realworld"].map((c) => path.resolve(root, "../shared/corpus", c));
const { values } = parseArgs({
  options: {
    detector: { type: "boolean", default: false },
    limit: { type: "string", default: "0" },
    json: { type: "string" },
  },
});

interface Row {
  file: string;
  ts: string;
  outTs?: string;
  status: string;
  code?: string;
  boxes?: number;
  ms: number;
  reference?: string;
  /** The pixel step ran (the instance was in scope and parsed). */
  stepped: boolean;
}

const ALL_MODALITIES = ["US", "SC", "OT", "XA", "RF", "ES", "XC", "GM", "DOC", "CT", "MR", "CR", "DX"];
const registry = ProfileRegistry.load();
const plan = registry.compileCustom(
  {
    name: "pixel-corpus",
    description: "pixel step on every pixel-bearing instance (bench only)",
    version: "1",
    extends: "pixel",
    pixel: {
      detector: values.detector,
      unmatched: "pass",
      scope: {
        modalities: [...ALL_MODALITIES, "MG", "NM", "PT", "SM", "XA", "IO", "PX", "OP", "RG", "RTIMAGE"],
        burnedInAnnotationYes: true,
      },
    },
    rules: [],
  },
  "bench",
);
const uids = new UidMapper(Buffer.alloc(32, 7));

function files(): string[] {
  const out: string[] = [];
  for (const dir of corpora) {
    const manifest = path.join(dir, "manifest.tsv");
    if (!fs.existsSync(manifest)) throw new Error(`corpus missing: ${manifest}`);
    for (const line of fs.readFileSync(manifest, "utf8").trim().split("\n").slice(1)) {
      const file = path.join(dir, line.split("\t")[0]!);
      if (fs.existsSync(file) && file.endsWith(".dcm")) out.push(file);
    }
  }
  return out;
}

/** Decodes `file` with a reference tool into a native file; undefined when none applies. */
function referenceDecode(file: string, ts: string, out: string, rgbCoded: boolean): string | undefined {
  const tool =
    ts.startsWith("1.2.840.10008.1.2.4.5") || ts.startsWith("1.2.840.10008.1.2.4.70")
      ? // +cl: YCbCr to RGB as libjpeg does; +cn for the stream coded as RGB (as test/interop/pixel-codecs).
        ["dcmdjpeg", [rgbCoded ? "+cn" : "+cl", file, out]]
      : ts.startsWith("1.2.840.10008.1.2.4.8")
        ? ["dcmdjpls", [file, out]]
        : ts === "1.2.840.10008.1.2.5"
          ? ["dcmdrle", [file, out]]
          : ts.startsWith("1.2.840.10008.1.2.4.9") || ts.startsWith("1.2.840.10008.1.2.4.20")
            ? ["gdcmconv", ["--raw", file, out]]
            : undefined;
  if (!tool) return "native";
  const r = spawnSync(tool[0] as string, tool[1] as string[], { encoding: "latin1" });
  return r.status === 0 ? (tool[0] as string) : `${tool[0] as string} failed`;
}

/** Interleaved samples (R G B R G B ...) as planes (R R ... G G ... B B ...). */
function toPlanar(frame: Uint8Array, px: PixelModule): Uint8Array {
  const bps = px.bitsAllocated / 8;
  const n = px.rows * px.cols;
  const out = new Uint8Array(frame.length);
  for (let i = 0; i < n; i++)
    for (let s = 0; s < px.spp; s++)
      for (let b = 0; b < bps; b++) out[(s * n + i) * bps + b] = frame[(i * px.spp + s) * bps + b]!;
  return out;
}

/**
 * A frame laid out as dcmtk lays out a JPEG tile smaller than the frame (some whole slide images'
 * edge tiles): the tile's samples one after another, zeros after them. We place the tile top left.
 */
function asDcmtkTile(frame: Uint8Array, tile: { rows: number; cols: number }, px: PixelModule): Uint8Array {
  const bpp = px.spp * (px.bitsAllocated / 8);
  const out = new Uint8Array(frame.length);
  for (let y = 0; y < tile.rows; y++)
    out.set(frame.subarray(y * px.cols * bpp, (y * px.cols + tile.cols) * bpp), y * tile.cols * bpp);
  return out;
}

/** Our decode of `output` against the reference tool's decode of the same file: equal samples? */
async function compareWithReference(output: Buffer, ts: string, source: string): Promise<string> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "pixel-corpus-"));
  try {
    const written = path.join(dir, "out.dcm");
    const raw = path.join(dir, "raw.dcm");
    fs.writeFileSync(written, output);
    const tool = referenceDecode(written, ts, raw, source.includes("+cr"));
    if (tool === "native") return "native";
    if (!tool || tool.endsWith("failed")) return tool ?? "no tool";
    const ours = readPart10(output);
    await loadCodecs(ours.transferSyntax);
    const mine = decodeFrames(ours.dataset, ours.transferSyntax);
    const theirs = readPart10(fs.readFileSync(raw));
    const samples = theirs.dataset.find((e) => e.tag === PIXEL_DATA)?.value;
    if (!samples) return `${tool}: no Pixel Data`;
    // The reference writes frames one after another; dcmdrle writes colour by plane.
    const theirPx = pixelModule(theirs.dataset, theirs.transferSyntax.encoding.littleEndian);
    // JPEG tiles smaller than the frame: compared the way dcmtk lays them out.
    const fragments = ours.dataset.find((e) => e.tag === PIXEL_DATA)?.fragments;
    const tiles =
      tool === "dcmdjpeg" && fragments
        ? encapsulatedFrames(fragments, mine.frames.length).map((f) => sofSize(f))
        : [];
    let small = 0;
    const joined = Buffer.concat(
      mine.frames.map((f, i) => {
        const tile = tiles[i];
        if (tile && (tile.rows < mine.module.rows || tile.cols < mine.module.cols)) {
          small++;
          return asDcmtkTile(f, tile, mine.module);
        }
        return theirPx.planar === 1 && mine.planar === 0 ? toPlanar(f, theirPx) : f;
      }),
    );
    const same = Buffer.compare(joined, Buffer.from(samples).subarray(0, joined.length)) === 0;
    const note = small ? ` (${small} smaller tiles as dcmtk lays them out)` : "";
    return same ? `${tool}: identical${note}` : `${tool}: DIFFERENT (planar ${mine.planar})${note}`;
  } catch (error) {
    return `compare failed: ${(error as Error).message.slice(0, 60)}`;
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

const rows: Row[] = [];
const list = files();
const limit = Number(values.limit) || list.length;
for (const file of list.slice(0, limit)) {
  const input = fs.readFileSync(file);
  let parsed;
  try {
    parsed = readPart10(input);
  } catch {
    continue;
  }
  if (!parsed.dataset.some((e) => e.tag === PIXEL_DATA)) continue;
  const ts = parsed.transferSyntax.uid;
  const t0 = performance.now();
  const pixel = await runPixelStep(input, plan);
  const outcome = anonymizeInstance(input, { plan, uids, pixel });
  const ms = performance.now() - t0;
  const row: Row = {
    file: path.basename(file),
    ts,
    ms,
    status: outcome.status,
    stepped: pixel !== undefined,
  };
  if (outcome.status === "failed") row.code = outcome.code;
  else {
    row.outTs = outcome.transferSyntaxUID;
    row.boxes = outcome.changes.filter((c) => c.action === "cleanPixel").length;
    if (row.stepped)
      row.reference = await compareWithReference(outcome.output, outcome.transferSyntaxUID, row.file);
  }
  rows.push(row);
  process.stderr.write(".");
}
process.stderr.write("\n");

const byTs = new Map<string, Row[]>();
for (const r of rows) byTs.set(r.ts, [...(byTs.get(r.ts) ?? []), r]);
console.log(
  `| transfer syntax | files | pixel step ran | cleaned | refused (code: n) | reference decode of the output | median ms |`,
);
console.log(`|---|---|---|---|---|---|---|`);
for (const [ts, list] of [...byTs].sort()) {
  const stepped = list.filter((r) => r.stepped);
  const cleaned = stepped.filter((r) => r.status === "anonymized");
  const codes = new Map<string, number>();
  for (const r of stepped) if (r.code) codes.set(r.code, (codes.get(r.code) ?? 0) + 1);
  const refs = new Map<string, number>();
  for (const r of cleaned) refs.set(r.reference!, (refs.get(r.reference!) ?? 0) + 1);
  const ms = list.map((r) => r.ms).sort((a, b) => a - b)[Math.floor(list.length / 2)]!;
  const fmt = (m: Map<string, number>) => [...m].map(([k, n]) => `${k}: ${n}`).join(", ") || "-";
  console.log(
    `| ${ts} | ${list.length} | ${stepped.length} | ${cleaned.length} | ${fmt(codes)} | ${fmt(refs)} | ${ms.toFixed(0)} |`,
  );
}
const odd = rows.filter(
  (r) => (r.reference && !/identical|^native$/.test(r.reference)) || (r.stepped && r.code),
);
if (odd.length)
  console.log(`\n${odd.map((r) => `- ${r.file} (${r.ts}): ${r.code ?? r.reference}`).join("\n")}`);
if (values.json) fs.writeFileSync(values.json, JSON.stringify(rows, null, 2));
