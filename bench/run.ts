/**
 * npm run bench: throughput and memory of the engine, the CLI and POST /anonymize on three synthetic
 * corpora, each next to baselines measured in the same run (a naive dcmjs read-modify-write; gdcmanon
 * and dcmodify when installed). Medians of --runs; ratios to the baselines.
 *
 *   npm run bench -- [--runs 3] [--scale 1] [--no-memory] [--no-pixel] [--only-pixel] [--quick]
 *
 * The pixel rows (bench/pixel.ts): the Clean Pixel Data step on a real 1024x768 ultrasound and a
 * 30-frame cine built from it, beside the header-only path.
 *
 * Optional baselines: apt-get install libgdcm-tools (gdcmanon) dcmtk (dcmodify) orthanc (REST /anonymize).
 */
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { anonymizeInstance } from "../src/engine/anonymize.js";
import { UidMapper } from "../src/engine/uid-map.js";
import { ProfileRegistry } from "../src/profiles/registry.js";
import { measureHttp } from "./http.js";
import { measureOrthancAnonymize, orthancInstalled } from "./orthanc.js";
import { benchPixel } from "./pixel.js";
import { writeCtSeries, type SeriesOptions } from "./synthetic.js";

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, "../..");
const { values } = parseArgs({
  options: {
    runs: { type: "string", default: "3" },
    scale: { type: "string", default: "1" },
    "no-memory": { type: "boolean", default: false },
    "no-pixel": { type: "boolean", default: false },
    /** Only the pixel rows (bench/pixel.ts): no synthetic corpora, no memory rows. */
    "only-pixel": { type: "boolean", default: false },
    quick: { type: "boolean", default: false },
  },
});
const runs = Number(values.runs);
const scale = values.quick ? 0.02 : Number(values.scale);

interface Measurement {
  seconds: number;
  maxRssMb: number;
}

/** Runs a command under python's resource module, which reports the children's peak RSS. */
function measure(command: string[], env: NodeJS.ProcessEnv = {}): Measurement {
  const script =
    "import resource,subprocess,sys,time\nt=time.perf_counter()\nr=subprocess.run(sys.argv[1:],stdout=subprocess.DEVNULL,stderr=subprocess.DEVNULL)\n" +
    "print(time.perf_counter()-t, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss/1024, r.returncode)";
  const r = spawnSync("python3", ["-c", script, ...command], {
    encoding: "utf8",
    env: { ...process.env, ...env },
  });
  const [seconds, rss, code] = r.stdout.trim().split(" ").map(Number);
  if (r.status !== 0 || code !== 0) throw new Error(`${command[0]} failed (${code}): ${r.stderr}`);
  return { seconds: seconds!, maxRssMb: rss! };
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const has = (tool: string) => spawnSync("sh", ["-c", `command -v ${tool}`]).status === 0;

const scratch = fs.existsSync("/dev/shm") ? "/dev/shm" : os.tmpdir();
const work = fs.mkdtempSync(path.join(scratch, "dwanon-bench-"));
const cli = path.join(root, "dist/src/cli.js");
const server = path.join(root, "dist/src/server.js");
const naive = path.join(root, "dist/bench/naive-dcmjs.js");

/** gdcmanon's basic profile needs a certificate to encrypt the original attributes. */
function gdcmCertificate(): { cert: string; key: string } | undefined {
  if (!has("gdcmanon") || !has("openssl")) return undefined;
  const cert = path.join(work, "gdcm-cert.pem");
  const key = path.join(work, "gdcm-key.pem");
  const r = spawnSync("openssl", [
    "req",
    "-x509",
    "-newkey",
    "rsa:2048",
    "-nodes",
    "-keyout",
    key,
    "-out",
    cert,
    "-days",
    "1",
    "-subj",
    "/CN=bench",
  ]);
  return r.status === 0 ? { cert, key } : undefined;
}

interface Row {
  readonly name: string;
  readonly m: Measurement;
}

async function benchCorpus(
  label: string,
  options: SeriesOptions,
  gdcm: ReturnType<typeof gdcmCertificate>,
): Promise<Row[]> {
  const inDir = path.join(work, `in-${label}`);
  const files = writeCtSeries(inDir, options);
  const megabytes = files.reduce((n, f) => n + fs.statSync(f).size, 0) / 1e6;
  const rows: Row[] = [];
  const whole = (name: string, command: (out: string) => string[], prepare?: (out: string) => void) => {
    const samples: Measurement[] = [];
    for (let r = 0; r < runs; r++) {
      const out = path.join(work, "out");
      fs.rmSync(out, { recursive: true, force: true });
      fs.mkdirSync(out);
      prepare?.(out);
      samples.push(measure(command(out), { UID_SECRET: "bench" }));
    }
    fs.rmSync(path.join(work, "out"), { recursive: true, force: true });
    rows.push({
      name,
      m: { seconds: median(samples.map((s) => s.seconds)), maxRssMb: median(samples.map((s) => s.maxRssMb)) },
    });
  };

  const cliRun = (profile: string, jobs: string) => (out: string) => [
    process.execPath,
    cli,
    "anonymize",
    inDir,
    "--out",
    out,
    "--profile",
    profile,
    "--jobs",
    jobs,
  ];
  const cores = String(os.availableParallelism());
  whole("CLI hipaa, 1 worker (default)", cliRun("hipaa", "1"));
  whole(`CLI hipaa, ${cores} workers`, cliRun("hipaa", cores));
  whole("CLI basic, 1 worker", cliRun("basic", "1"));
  whole("naive dcmjs read-modify-write", (out) => [process.execPath, naive, out, ...files]);
  if (gdcm)
    whole("gdcmanon basic (1 process)", (out) => [
      "gdcmanon",
      "-e",
      "-c",
      gdcm.cert,
      "-k",
      gdcm.key,
      "--continue",
      "-i",
      inDir,
      "-o",
      out,
    ]);
  if (has("dcmodify")) {
    // dcmodify edits in place: the copy is made before the clock starts.
    whole(
      "dcmodify (dcmtk), 10 edits in place",
      (out) => [
        "dcmodify",
        "-nb",
        "-ie",
        ...["(0010,0010)", "(0010,0020)", "(0010,0030)", "(0008,0090)", "(0008,0080)"].flatMap((t) => [
          "-ma",
          `${t}=`,
        ]),
        ...["(0008,0081)", "(0018,1000)", "(0010,1040)", "(0009,0010)", "(0029,0010)"].flatMap((t) => [
          "-ea",
          t,
        ]),
        ...fs.readdirSync(out).map((f) => path.join(out, f)),
      ],
      (out) => {
        for (const f of files) fs.copyFileSync(f, path.join(out, path.basename(f)));
      },
    );
  }

  const httpSamples: Measurement[] = [];
  for (let r = 0; r < runs; r++) httpSamples.push(await measureHttp(server, files, 4, undefined));
  rows.push({
    name: "POST /anonymize hipaa, 4 clients",
    m: {
      seconds: median(httpSamples.map((s) => s.seconds)),
      maxRssMb: median(httpSamples.map((s) => s.maxRssMb)),
    },
  });

  if (orthancInstalled()) {
    const samples: Measurement[] = [];
    for (let r = 0; r < runs; r++) samples.push(await measureOrthancAnonymize(files, 2));
    rows.push({
      name: "Orthanc REST /anonymize, 2 clients",
      m: { seconds: median(samples.map((s) => s.seconds)), maxRssMb: median(samples.map((s) => s.maxRssMb)) },
    });
  }

  const plan = ProfileRegistry.load().get("hipaa")!;
  const uids = new UidMapper(Buffer.from("bench"));
  const inputs = files.map((f) => fs.readFileSync(f));
  for (const input of inputs.slice(0, 10)) anonymizeInstance(input, { plan, uids });
  const engineSamples: number[] = [];
  for (let r = 0; r < runs; r++) {
    const started = performance.now();
    for (const input of inputs)
      if (anonymizeInstance(input, { plan, uids }).status !== "anonymized") throw new Error("engine failed");
    engineSamples.push((performance.now() - started) / 1000);
  }
  rows.push({
    name: "engine in-process hipaa, 1 thread",
    m: { seconds: median(engineSamples), maxRssMb: Number.NaN },
  });
  fs.rmSync(inDir, { recursive: true, force: true });

  const naiveRow = rows.find((r) => r.name.startsWith("naive"))!;
  const gdcmRow = rows.find((r) => r.name.startsWith("gdcmanon"));
  console.log(
    `\n### ${label}: ${files.length} instances, ${((megabytes * 1000) / files.length).toFixed(0)} KB each, ${megabytes.toFixed(0)} MB\n`,
  );
  console.log(
    `| command | instances/s | MB/s | peak RSS MB | vs naive dcmjs |${gdcmRow ? " vs gdcmanon |" : ""}`,
  );
  console.log(`|---|---:|---:|---:|---:|${gdcmRow ? "---:|" : ""}`);
  for (const { name, m } of rows) {
    const ratio = (base: Row) => `${(base.m.seconds / m.seconds).toFixed(2)}x`;
    console.log(
      `| ${name} | ${(files.length / m.seconds).toFixed(0)} | ${(megabytes / m.seconds).toFixed(0)} | ${Number.isNaN(m.maxRssMb) ? "-" : m.maxRssMb.toFixed(0)} | ${ratio(naiveRow)} |${gdcmRow ? ` ${ratio(gdcmRow)} |` : ""}`,
    );
  }
  return rows;
}

async function benchMemory(): Promise<void> {
  const dir = path.join(work, "in-memory");
  const [file] = writeCtSeries(dir, { count: 1, rows: 512, columns: 512, frames: values.quick ? 20 : 2000 });
  const sizeMb = fs.statSync(file!).size / 1048576;
  const out = path.join(work, "out-memory");
  fs.mkdirSync(out, { recursive: true });
  const cliRun = measure(
    [process.execPath, cli, "anonymize", file!, "--out", out, "--profile", "hipaa", "--jobs", "1"],
    { UID_SECRET: "bench" },
  );
  const httpRun = await measureHttp(server, [file!], 1, "1", false);
  console.log(`\n### memory: one ${sizeMb.toFixed(0)} MB multi-frame instance\n`);
  console.log("| path | peak RSS MB | target | seconds |");
  console.log("|---|---:|---:|---:|");
  console.log(
    `| CLI | ${cliRun.maxRssMb.toFixed(0)} | < ${(sizeMb + 200).toFixed(0)} (size + 200 MB) | ${cliRun.seconds.toFixed(2)} |`,
  );
  console.log(
    `| POST /anonymize (server) | ${httpRun.maxRssMb.toFixed(0)} | < ${(2 * sizeMb + 200).toFixed(0)} (2 x size + 200 MB) | ${httpRun.seconds.toFixed(2)} |`,
  );
  fs.rmSync(dir, { recursive: true, force: true });
  fs.rmSync(out, { recursive: true, force: true });
}

try {
  console.log(`# dicomweb-anonymizer bench — ${new Date().toISOString().slice(0, 10)}`);
  console.log(
    `machine: ${os.cpus().length} x ${os.cpus()[0]?.model ?? "?"}, ${(os.totalmem() / 2 ** 30).toFixed(0)} GiB, Node ${process.version}; inputs and outputs in ${scratch}; median of ${runs} runs`,
  );
  const gdcm = gdcmCertificate();
  if (!gdcm) console.log("(gdcmanon not installed: apt-get install libgdcm-tools to compare)");
  if (!has("dcmodify")) console.log("(dcmodify not installed: apt-get install dcmtk to compare)");
  if (!orthancInstalled())
    console.log("(Orthanc not installed: apt-get install orthanc to compare its REST /anonymize)");
  const n = (x: number) => Math.max(2, Math.round(x * scale));
  const onlyPixel = values["only-pixel"] ?? false;
  if (!onlyPixel) {
    await benchCorpus("CT series", { count: n(500), rows: 512, columns: 512 }, gdcm);
    await benchCorpus(
      "large multi-frame",
      { count: n(3), rows: 512, columns: 512, frames: values.quick ? 10 : 200 },
      gdcm,
    );
    await benchCorpus("tiny", { count: n(2000), rows: 64, columns: 64 }, gdcm);
  }
  if (!values["no-pixel"]) await benchPixel({ root, work, cli, runs, quick: values.quick ?? false, measure });
  if (!values["no-memory"] && !onlyPixel) await benchMemory();
} finally {
  fs.rmSync(work, { recursive: true, force: true });
}
