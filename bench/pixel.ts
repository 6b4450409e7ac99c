/**
 * The pixel rows of `npm run bench`: the Clean Pixel Data step on real ultrasound, beside the
 * header-only path (hipaa) in the same run. Inputs: the corpus' Philips EPIQ frame (1024x768,
 * us-burned-in-yes-philips-phi) and a native 30-frame cine built from it (the header bar static, the
 * image region shifted by a few pixels per frame, so no two frames are equal and none is skipped as
 * a duplicate). Profiles: hipaa (header only; with Burned In Annotation YES allowed, since hipaa
 * refuses the flagged file), pixel with its detector off (device templates only) and pixel itself
 * (templates, then the PP-OCRv4 detector). Medians of --runs; the detector's first call (model
 * load) is timed apart.
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import type { DataElement } from "../src/dicom/element.js";
import { readPart10, writePart10 } from "../src/dicom/part10.js";
import { PIXEL_DATA, SOP_CLASS_UID, SOP_INSTANCE_UID, tagOf } from "../src/dicom/tag.js";
import { encodeValue, asciiValue } from "../src/dicom/values.js";
import { anonymizeInstance } from "../src/engine/anonymize.js";
import type { Plan } from "../src/engine/plan.js";
import { UidMapper } from "../src/engine/uid-map.js";
import { runPixelStep } from "../src/pixel/step.js";
import { ProfileRegistry } from "../src/profiles/registry.js";

const US_MULTIFRAME = "1.2.840.10008.5.1.4.1.1.3.1";
const NUMBER_OF_FRAMES = tagOf(0x0028, 0x0008);
/** Rows above this hold the Philips patient bar and must stay as they are in every frame. */
const IMAGE_TOP = 38;

export interface PixelBenchOptions {
  readonly root: string;
  readonly work: string;
  readonly cli: string;
  readonly runs: number;
  readonly quick: boolean;
  readonly measure: (command: string[], env?: NodeJS.ProcessEnv) => { seconds: number; maxRssMb: number };
}

/**
 * The moving part of a built cine: "image" shifts everything below the patient bar (the worst case:
 * every frame is detected whole); "sector" shifts only a 600x540 rectangle in the middle (41 % of
 * the frame), as an ultrasound sector moves under static annotations.
 */
export type CineMotion = "image" | "sector";
const SECTOR = { x: 212, y: 150, width: 600, height: 540 };

/** A native multi-frame cine from one real single-frame 8-bit MONOCHROME2 ultrasound. */
export function buildCine(source: Buffer, frames: number, motion: CineMotion = "image"): Buffer {
  const parsed = readPart10(source);
  const pixel = parsed.dataset.find((e) => e.tag === PIXEL_DATA)!;
  const frame = pixel.value!;
  const cols = 1024;
  const rows = frame.length / cols;
  const all = Buffer.alloc(frame.length * frames);
  for (let f = 0; f < frames; f++) {
    const out = all.subarray(f * frame.length, (f + 1) * frame.length);
    out.set(frame);
    // The moving part's rows shift right by 4 px per frame (wrapping inside it); the rest stays.
    const [x0, width, y0, y1] =
      motion === "image"
        ? [0, cols, IMAGE_TOP, rows]
        : [SECTOR.x, SECTOR.width, SECTOR.y, SECTOR.y + SECTOR.height];
    const shift = (4 * f) % width;
    for (let y = y0; y < y1; y++) {
      const row = frame.subarray(y * cols + x0, y * cols + x0 + width);
      out.set(row.subarray(width - shift), y * cols + x0);
      out.set(row.subarray(0, width - shift), y * cols + x0 + shift);
    }
  }
  const text = (tag: number, vr: string, value: string): DataElement => ({
    tag,
    vr,
    value: encodeValue(value, vr),
    undefinedLength: false,
  });
  const sopInstance = asciiValue(parsed.dataset.find((e) => e.tag === SOP_INSTANCE_UID)?.value).trim();
  const dataset = [
    ...parsed.dataset
      .filter((e) => e.tag !== NUMBER_OF_FRAMES && e.tag !== SOP_CLASS_UID)
      .map((e) => (e.tag === PIXEL_DATA ? { ...e, value: all } : e)),
    text(NUMBER_OF_FRAMES, "IS", String(frames)),
    text(SOP_CLASS_UID, "UI", US_MULTIFRAME),
  ].sort((a, b) => a.tag - b.tag);
  return writePart10({
    dataset,
    transferSyntax: parsed.transferSyntax,
    sopClassUid: US_MULTIFRAME,
    sopInstanceUid: sopInstance,
  });
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

interface PixelRow {
  readonly input: string;
  readonly frames: number;
  readonly path: string;
  readonly seconds: number;
  readonly maxRssMb: number;
  /** The header-only row this one is compared with. */
  readonly baseline?: number;
}

/** One instance through the engine in this thread, the way the workers run it: pixel step, then header. */
async function inProcess(input: Buffer, plan: Plan, uids: UidMapper): Promise<void> {
  const pixel = plan.pixel ? await runPixelStep(input, plan) : undefined;
  if (pixel?.status === "refused") throw new Error(`pixel step refused: ${pixel.code}`);
  const outcome = anonymizeInstance(input, { plan, uids, pixel });
  if (outcome.status !== "anonymized") throw new Error(`engine failed: ${outcome.code}`);
}

export async function benchPixel(o: PixelBenchOptions): Promise<void> {
  const source = path.resolve(o.root, "../shared/corpus/public/us-burned-in-yes-philips-phi.dcm");
  if (!fs.existsSync(source)) {
    console.log(`\n### pixel step\n\n(the public corpus is missing: ${source}; no pixel rows)`);
    return;
  }
  const registry = ProfileRegistry.load();
  const templatesOnly = {
    name: "pixel-templates",
    description: "pixel with its text detector off: device templates only (bench)",
    version: "1",
    extends: "pixel",
    pixel: { detector: false },
    rules: [],
  };
  // hipaa refuses the flagged file; the header-only baseline is hipaa with the flag allowed.
  const headerOnly = {
    name: "hipaa-allow",
    description: "hipaa without the burned-in refusal (bench baseline)",
    version: "1",
    extends: "hipaa",
    burnedInAnnotation: "allow",
    rules: [],
  };
  const plans: Array<[string, Plan]> = [
    ["hipaa (header only)", registry.compileCustom(headerOnly)],
    ["pixel, detector off (templates)", registry.compileCustom(templatesOnly)],
    ["pixel (templates + detector)", registry.get("pixel")!],
  ];
  const templatesFile = path.join(o.work, "pixel-templates.json");
  fs.writeFileSync(templatesFile, JSON.stringify(templatesOnly));
  const headerFile = path.join(o.work, "hipaa-allow.json");
  fs.writeFileSync(headerFile, JSON.stringify(headerOnly));
  const cliProfiles = [headerFile, templatesFile, "pixel"];

  const single = fs.readFileSync(source);
  const cineFrames = o.quick ? 3 : 30;
  const inputs: Array<[string, number, Buffer]> = [
    ["1024x768 US (Philips EPIQ)", 1, single],
    [`${cineFrames}-frame 1024x768 cine (built from it)`, cineFrames, buildCine(single, cineFrames)],
  ];
  const uids = new UidMapper(Buffer.from("bench"));

  // The detector's model loads on its first call: timed once, apart from the rows.
  const loadStart = performance.now();
  await inProcess(single, plans[2]![1], uids);
  const firstCall = (performance.now() - loadStart) / 1000;

  const rows: PixelRow[] = [];
  for (const [label, frames, input] of inputs) {
    let header: number | undefined;
    for (const [name, plan] of plans) {
      await inProcess(input, plan, uids); // warm
      const samples: number[] = [];
      for (let r = 0; r < o.runs; r++) {
        const started = performance.now();
        await inProcess(input, plan, uids);
        samples.push((performance.now() - started) / 1000);
      }
      const seconds = median(samples);
      header ??= seconds;
      rows.push({
        input: label,
        frames,
        path: `engine in-process, ${name}`,
        seconds,
        maxRssMb: NaN,
        baseline: header,
      });
    }
    const dir = path.join(o.work, `in-pixel-${frames}`);
    fs.mkdirSync(dir, { recursive: true });
    fs.writeFileSync(path.join(dir, "instance.dcm"), input);
    let cliHeader: number | undefined;
    for (const [i, profile] of cliProfiles.entries()) {
      const samples: Array<{ seconds: number; maxRssMb: number }> = [];
      for (let r = 0; r < o.runs; r++) {
        const out = path.join(o.work, "out-pixel");
        fs.rmSync(out, { recursive: true, force: true });
        samples.push(
          o.measure(
            [process.execPath, o.cli, "anonymize", dir, "--out", out, "--profile", profile, "--jobs", "1"],
            { UID_SECRET: "bench" },
          ),
        );
      }
      const seconds = median(samples.map((s) => s.seconds));
      cliHeader ??= seconds;
      rows.push({
        input: label,
        frames,
        path: `CLI (whole process), ${plans[i]![0]}`,
        seconds,
        maxRssMb: median(samples.map((s) => s.maxRssMb)),
        baseline: cliHeader,
      });
    }
    fs.rmSync(dir, { recursive: true, force: true });
    fs.rmSync(path.join(o.work, "out-pixel"), { recursive: true, force: true });
  }

  // Both cores, as the service runs it: two engine workers, detection in the worker's own thread
  // (PIXEL_DETECTOR_THREADS=0) beside the shared detector pool (one session per core).
  const cores = Math.min(2, os.availableParallelism());
  const poolInputs: Array<[string, number, Buffer]> = [
    ...inputs,
    [
      `${cineFrames}-frame 1024x768 cine, only a 600x540 sector moving`,
      cineFrames,
      buildCine(single, cineFrames, "sector"),
    ],
  ];
  const poolRows: PixelRow[] = [];
  for (const [label, frames, input] of poolInputs) {
    const file = path.join(o.work, "pool-input.dcm");
    fs.writeFileSync(file, input);
    let inWorker: number | undefined;
    for (const threads of [0, cores]) {
      const out = path.join(o.work, "pool-result.json");
      const m = o.measure([
        process.execPath,
        path.join(o.root, "dist/bench/pixel-pool.js"),
        ...["--input", file, "--profile", "pixel", "--workers", String(cores)],
        ...["--detector-threads", String(threads), "--runs", String(o.runs), "--out", out],
      ]);
      const { seconds } = JSON.parse(fs.readFileSync(out, "utf8")) as { seconds: number };
      inWorker ??= seconds;
      poolRows.push({
        input: label,
        frames,
        path:
          threads === 0
            ? `engine pool (${cores} workers), detector in the worker`
            : `engine pool (${cores} workers), detector pool (${threads} threads)`,
        seconds,
        maxRssMb: m.maxRssMb,
        baseline: inWorker,
      });
    }
    fs.rmSync(file, { force: true });
  }

  console.log(`\n### pixel step: real ultrasound, one thread\n`);
  console.log(
    `The detector's first call (model load + one 1024x768 frame): ${firstCall.toFixed(2)} s. ` +
      `Goals: one 1024x768 frame < 0.5 s on one core; a 30-frame cine < 3 s with both cores.\n`,
  );
  console.log("| input | path | seconds (median) | frames/s | peak RSS MB | vs header only |");
  console.log("|---|---|---:|---:|---:|---:|");
  for (const r of rows)
    console.log(
      `| ${r.input} | ${r.path} | ${r.seconds.toFixed(3)} | ${(r.frames / r.seconds).toFixed(1)} | ${Number.isNaN(r.maxRssMb) ? "-" : r.maxRssMb.toFixed(0)} | ${r.baseline ? `${(r.seconds / r.baseline).toFixed(1)}x` : "-"} |`,
    );

  console.log(`\n### pixel step: both cores (engine pool, profile pixel)\n`);
  console.log(
    "Median of warm runs; peak RSS of the whole process (models of every detecting thread included); " +
      "the ratio is to the detector in the worker, same input.\n",
  );
  console.log("| input | path | seconds (median) | frames/s | peak RSS MB | vs detector in the worker |");
  console.log("|---|---|---:|---:|---:|---:|");
  for (const r of poolRows)
    console.log(
      `| ${r.input} | ${r.path} | ${r.seconds.toFixed(3)} | ${(r.frames / r.seconds).toFixed(1)} | ${r.maxRssMb.toFixed(0)} | ${(r.seconds / r.baseline!).toFixed(2)}x |`,
    );
}
