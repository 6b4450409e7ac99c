#!/usr/bin/env node
/**
 * dicomweb-anonymizer anonymize <file|dir>... --out <dir> --profile <name|file.json> [--audit <file>]
 * dicomweb-anonymizer job --source <name> --study <uid>... (a job on a running service; cli/remote-job.ts)
 *
 * Exit status: 0 when every input was de-identified, 1 when any failed, 2 on a usage error.
 */
import fs from "node:fs";
import os from "node:os";
import { parseArgs } from "node:util";
import { expandInputs, makeOutputDir } from "./cli/files.js";
import { loadPlan, type FileResult } from "./cli/job.js";
import { runJobs } from "./cli/pool.js";
import { JOB_USAGE, runRemoteJob } from "./cli/remote-job.js";
import { resolveSecret } from "./engine/secret.js";

const USAGE = `usage: dicomweb-anonymizer anonymize <file|dir>... --out <dir> --profile <name|file.json>
       [--audit <file>] [--audit-before] [--profiles-dir <dir>] [--jobs <n>] [--detector-threads <n>]

  --profile       a profile name (basic, hipaa, pixel, or one in --profiles-dir) or a profile .json file
  --audit         write the audit (every changed tag per instance) as JSON to this file
  --audit-before  include original values in the audit (they are PHI; off by default)
  --jobs          worker threads (default: 1; see bench/README.md)
  --detector-threads
                  with a profile whose pixel step runs the text detector: threads of the detector
                  pool the workers share, one model each (~400 MB); default: the number of cores;
                  0: each worker detects in its own thread

The UID secret comes from UID_SECRET; without it a random one is used and UIDs differ between runs.`;

async function main(argv: string[]): Promise<number> {
  if (argv[0] === "job") return runRemoteJob(argv.slice(1));
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      out: { type: "string" },
      profile: { type: "string", default: "hipaa" },
      audit: { type: "string" },
      "audit-before": { type: "boolean", default: false },
      "profiles-dir": { type: "string" },
      jobs: { type: "string" },
      "detector-threads": { type: "string" },
      help: { type: "boolean", short: "h", default: false },
    },
  });
  if (values.help) {
    console.log(`${USAGE}\n\n${JOB_USAGE}`);
    return 0;
  }
  const [command, ...inputs] = positionals;
  if (command !== "anonymize" || inputs.length === 0 || !values.out) {
    console.error(USAGE);
    return 2;
  }
  const plan = loadPlan(values.profile, values["profiles-dir"]);
  const { files, skipped } = expandInputs(inputs);
  const outDir = makeOutputDir(values.out);
  const secret = resolveSecret(process.env.UID_SECRET);
  if (secret.ephemeral)
    console.error(
      "warning: UID_SECRET is not set; using a random secret, so UIDs will differ from other runs",
    );
  // One worker by default: on the 2-core VMs we measure on, more threads (or processes) did not go
  // faster: the work is bound by memory and tmpfs bandwidth (bench/README.md). --jobs N to try.
  const jobs = values.jobs ? Number(values.jobs) : 1;
  if (!Number.isInteger(jobs) || jobs < 1) {
    console.error("--jobs must be a positive integer");
    return 2;
  }
  const detectorThreads = values["detector-threads"]
    ? Number(values["detector-threads"])
    : Math.max(1, os.availableParallelism());
  if (!Number.isInteger(detectorThreads) || detectorThreads < 0) {
    console.error("--detector-threads must be a non-negative integer");
    return 2;
  }

  const results: FileResult[] = new Array(files.length);
  const progress = process.stderr.isTTY ? new Progress(files.length) : undefined;
  const started = process.hrtime.bigint();
  await runJobs(
    files,
    {
      profile: values.profile,
      profilesDir: values["profiles-dir"],
      secretHex: secret.secret.toString("hex"),
      outDir,
      withChanges: values.audit !== undefined,
      detectorThreads,
    },
    jobs,
    (r) => {
      results[r.index] = r;
      progress?.tick(r.status === "failed");
    },
    plan,
  );
  progress?.done();
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;

  const anonymized = results.filter((r) => r.status === "anonymized");
  const failed = results.filter((r) => r.status === "failed");
  if (values.audit) {
    const audit = {
      profile: { name: plan.name, version: plan.version, rules: plan.ruleCount },
      instances: results.map((r) => ({
        index: r.index,
        source: r.source,
        status: r.status,
        ...(r.sopInstanceUID ? { sopInstanceUID: r.sopInstanceUID } : {}),
        ...(r.reason ? { code: r.code, reason: r.reason } : {}),
        changes: (r.changes ?? []).map((c) => (values["audit-before"] ? c : { ...c, before: undefined })),
      })),
      ...(skipped.length > 0 ? { skipped } : {}),
      summary: { total: results.length, anonymized: anonymized.length, failed: failed.length },
    };
    fs.writeFileSync(values.audit, JSON.stringify(audit, null, 2));
  }
  const megabytes = results.reduce((n, r) => n + r.inputBytes, 0) / 1e6;
  console.log(
    `${plan.name}: ${anonymized.length} anonymized, ${failed.length} failed of ${results.length} ` +
      `in ${seconds.toFixed(2)} s (${(results.length / seconds).toFixed(1)} instances/s, ${(megabytes / seconds).toFixed(1)} MB/s)`,
  );
  for (const f of failed) console.log(`  failed: ${f.source}: ${f.reason}`);
  for (const s of skipped) console.log(`  skipped: ${s.source}: ${s.reason}`);
  return failed.length > 0 ? 1 : 0;
}

class Progress {
  private count = 0;
  private failures = 0;
  constructor(private readonly total: number) {}

  tick(failed: boolean): void {
    this.count++;
    if (failed) this.failures++;
    const width = 30;
    const filled = Math.round((this.count / this.total) * width);
    process.stderr.write(
      `\r[${"#".repeat(filled)}${" ".repeat(width - filled)}] ${this.count}/${this.total}, ${this.failures} failed`,
    );
  }

  done(): void {
    process.stderr.write("\n");
  }
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (error: unknown) => {
    console.error(`error: ${(error as Error).message}`);
    process.exit(2);
  },
);
