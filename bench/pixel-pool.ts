/**
 * One instance through the engine pool as the service runs it (WORKERS threads), with the text
 * detector in the engine worker's own thread (--detector-threads 0) or in the shared detector pool.
 * Run by bench/pixel.ts under its RSS measurement; writes the median of --runs warm runs to --out.
 *   node dist/bench/pixel-pool.js --input F --profile pixel|P.json --workers 2 --detector-threads 2 --runs 3 --out R.json
 */
import fs from "node:fs";
import { parseArgs } from "node:util";
import { EnginePool } from "../src/engine/pool.js";
import { DetectorPool } from "../src/pixel/detector-pool.js";
import { builtinProfileDir, ProfileRegistry } from "../src/profiles/registry.js";
import { runsDetector } from "../src/profiles/runs-detector.js";

const { values } = parseArgs({
  options: {
    input: { type: "string" },
    profile: { type: "string" },
    workers: { type: "string", default: "2" },
    "detector-threads": { type: "string", default: "0" },
    runs: { type: "string", default: "3" },
    out: { type: "string" },
  },
});
const input = fs.readFileSync(values.input!);
// A profile name, or a custom profile's file.
const profile = values.profile!.endsWith(".json")
  ? { custom: JSON.parse(fs.readFileSync(values.profile!, "utf8")) as unknown }
  : { name: values.profile! };
const threads = Number(values["detector-threads"]);
const registry = ProfileRegistry.load([builtinProfileDir()]);
const pool = new EnginePool(
  { profileDirs: [builtinProfileDir()], secretHex: "62656e6368", maxInflatedBytes: 1 << 30 },
  Number(values.workers),
  threads > 0 ? { pool: new DetectorPool(threads), needs: runsDetector(registry) } : undefined,
);

async function once(): Promise<number> {
  const started = performance.now();
  const outcome = await pool.anonymize(input, profile);
  if (outcome.status !== "anonymized") throw new Error(`${outcome.code}`);
  return (performance.now() - started) / 1000;
}

// Models load in every thread that detects: warm each engine worker and detector thread first.
const workers = Number(values.workers);
for (let i = 0; i < 2; i++) await Promise.all(Array.from({ length: workers }, once));
const samples: number[] = [];
for (let r = 0; r < Number(values.runs); r++) samples.push(await once());
await pool.close();
const sorted = [...samples].sort((a, b) => a - b);
fs.writeFileSync(values.out!, JSON.stringify({ seconds: sorted[Math.floor(sorted.length / 2)], samples }));
