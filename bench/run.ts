/**
 * npm run bench: whole-process throughput of the CLI against baselines measured in the same run.
 * Prints instances/s, MB/s and peak RSS (median of --runs), and the ratio to each baseline.
 *
 *   npm run bench -- [--count 200] [--runs 5] [--jobs N]
 *
 * Optional baselines, used when installed: gdcmanon (apt-get install libgdcm-tools) and dcmodify
 * (apt-get install dcmtk).
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
import { writeCtSeries } from "./synthetic.js";

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, "../..");
const { values } = parseArgs({
  options: {
    count: { type: "string", default: "200" },
    runs: { type: "string", default: "5" },
    jobs: { type: "string" },
  },
});
const count = Number(values.count);
const runs = Number(values.runs);

interface Measurement {
  seconds: number;
  maxRssMb: number;
}

/** Runs a command as a child of python's resource module, which reports the children's peak RSS. */
function measure(command: string[], env: NodeJS.ProcessEnv = {}): Measurement {
  const script =
    "import resource,subprocess,sys,time\nt=time.perf_counter()\nr=subprocess.run(sys.argv[1:],stdout=subprocess.DEVNULL,stderr=subprocess.DEVNULL)\n" +
    "print(time.perf_counter()-t, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss/1024, r.returncode)";
  const r = spawnSync("python3", ["-c", script, ...command], {
    encoding: "utf8",
    env: { ...process.env, ...env },
  });
  const [seconds, rss, code] = r.stdout.trim().split(" ").map(Number);
  if (r.status !== 0 || code !== 0) throw new Error(`${command.join(" ")} failed (${code}): ${r.stderr}`);
  return { seconds: seconds!, maxRssMb: rss! };
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

function has(tool: string): boolean {
  return spawnSync("sh", ["-c", `command -v ${tool}`]).status === 0;
}

const scratch = fs.existsSync("/dev/shm") ? "/dev/shm" : os.tmpdir();
const work = fs.mkdtempSync(path.join(scratch, "dwanon-bench-"));
try {
  const files = writeCtSeries(path.join(work, "in"), { count, rows: 512, columns: 512 });
  const megabytes = files.reduce((n, f) => n + fs.statSync(f).size, 0) / 1e6;
  console.log(
    `corpus: ${count} synthetic CT instances, ${((megabytes * 1000) / count).toFixed(0)} KB each, ${megabytes.toFixed(0)} MB`,
  );
  console.log(
    `machine: ${os.cpus().length} x ${os.cpus()[0]?.model ?? "?"}, Node ${process.version}; median of ${runs} runs\n`,
  );

  const cli = path.join(root, "dist/src/cli.js");
  const inDir = path.join(work, "in");
  const candidates: Array<[string, (out: string) => string[]]> = [
    [
      "cli hipaa (all cores)",
      (out) => [
        process.execPath,
        cli,
        "anonymize",
        inDir,
        "--out",
        out,
        "--profile",
        "hipaa",
        ...(values.jobs ? ["--jobs", values.jobs] : []),
      ],
    ],
    [
      "cli hipaa (1 worker)",
      (out) => [process.execPath, cli, "anonymize", inDir, "--out", out, "--profile", "hipaa", "--jobs", "1"],
    ],
    [
      "cli basic (all cores)",
      (out) => [process.execPath, cli, "anonymize", inDir, "--out", out, "--profile", "basic"],
    ],
    [
      "naive dcmjs read-modify-write",
      (out) => [process.execPath, path.join(root, "dist/bench/naive-dcmjs.js"), out, ...files],
    ],
  ];
  if (has("gdcmanon"))
    candidates.push([
      "gdcmanon --dumb (1 process)",
      (out) => ["gdcmanon", "--continue", "--dumb", "--remove", "0010,0010", "-i", inDir, "-o", out],
    ]);
  else console.log("(gdcmanon not installed: apt-get install libgdcm-tools to compare)");

  const results = new Map<string, Measurement>();
  for (const [name, command] of candidates) {
    const samples: Measurement[] = [];
    for (let r = 0; r < runs; r++) {
      const out = path.join(work, `out-${r}`);
      fs.rmSync(out, { recursive: true, force: true });
      fs.mkdirSync(out);
      samples.push(measure(command(out), { UID_SECRET: "bench" }));
      fs.rmSync(out, { recursive: true, force: true });
    }
    results.set(name, {
      seconds: median(samples.map((s) => s.seconds)),
      maxRssMb: median(samples.map((s) => s.maxRssMb)),
    });
  }

  // End to end over loopback: the same instances through POST /anonymize of a server process.
  const server = path.join(root, "dist/src/server.js");
  const httpSamples: Measurement[] = [];
  for (let r = 0; r < runs; r++) httpSamples.push(await measureHttp(server, files, 4, values.jobs));
  results.set("POST /anonymize hipaa (4 clients, loopback)", {
    seconds: median(httpSamples.map((s) => s.seconds)),
    maxRssMb: median(httpSamples.map((s) => s.maxRssMb)),
  });

  // The engine alone, in this process, one thread: the ceiling the other rows pay overhead against.
  const engineSamples: number[] = [];
  const plan = ProfileRegistry.load().get("hipaa")!;
  const uids = new UidMapper(Buffer.from("bench"));
  const inputs = files.map((f) => fs.readFileSync(f));
  for (const input of inputs.slice(0, 20)) anonymizeInstance(input, { plan, uids });
  for (let r = 0; r < runs; r++) {
    const started = performance.now();
    for (const input of inputs)
      if (anonymizeInstance(input, { plan, uids }).status !== "anonymized") throw new Error("engine failed");
    engineSamples.push((performance.now() - started) / 1000);
  }
  results.set("engine in-process hipaa (1 thread)", {
    seconds: median(engineSamples),
    maxRssMb: process.resourceUsage().maxRSS / 1024,
  });

  const baseline = results.get("naive dcmjs read-modify-write")!;
  console.log("| command | instances/s | MB/s | peak RSS MB | vs naive dcmjs |");
  console.log("|---|---:|---:|---:|---:|");
  for (const [name, m] of results) {
    console.log(
      `| ${name} | ${(count / m.seconds).toFixed(0)} | ${(megabytes / m.seconds).toFixed(0)} | ${Number.isNaN(m.maxRssMb) ? "-" : m.maxRssMb.toFixed(0)} | ${(baseline.seconds / m.seconds).toFixed(2)}x |`,
    );
  }
} finally {
  fs.rmSync(work, { recursive: true, force: true });
}
