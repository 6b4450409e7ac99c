/**
 * Jobs: instances/s of a 1,000-instance job (10 studies x 4 series x 25 instances, each a copy of
 * a real 383 KB MR instance with its own UIDs) from one Orthanc (DICOMweb) to another, with one and
 * with two consuming service processes sharing a local redis-server; peak RSS (VmHWM) per process.
 * Needs the Debian packages orthanc, orthanc-dicomweb and redis-server. Run: npm run bench:jobs
 * (timed from POST /jobs to the job's completed state; the source is filled beforehand, untimed).
 */
import { spawn, type ChildProcess } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { readPart10 } from "../src/dicom/part10.js";
import { packageRoot } from "../src/package-root.js";
import { freePort } from "./net.js";

const ROOT = packageRoot();
const SEED = path.resolve(ROOT, "../shared/corpus/public/mr-siemens-csa-explicit-le.dcm");
const PLUGIN = "/usr/share/orthanc/plugins/libOrthancDicomWeb.so";
const children: ChildProcess[] = [];

async function waitFor(url: string, tries = 300): Promise<void> {
  for (let i = 0; i < tries; i++) {
    if (
      await fetch(url).then(
        (r) => r.ok,
        () => false,
      )
    )
      return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`${url} did not answer`);
}

async function startOrthanc(name: string): Promise<string> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `bench-orthanc-${name}-`));
  const port = await freePort();
  const config = {
    Name: name,
    HttpPort: port,
    DicomServerEnabled: false,
    StorageDirectory: path.join(dir, "db"),
    IndexDirectory: path.join(dir, "db"),
    RemoteAccessAllowed: false,
    AuthenticationEnabled: false,
    Plugins: [PLUGIN],
    DicomWeb: { Enable: true, Root: "/dicom-web/" },
  };
  fs.writeFileSync(path.join(dir, "config.json"), JSON.stringify(config));
  children.push(spawn("Orthanc", [path.join(dir, "config.json")], { stdio: "ignore" }));
  const base = `http://127.0.0.1:${port}`;
  await waitFor(`${base}/system`);
  return base;
}

async function startRedis(): Promise<string> {
  const port = await freePort();
  children.push(
    spawn(
      "redis-server",
      ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
      {
        stdio: "ignore",
      },
    ),
  );
  await new Promise((r) => setTimeout(r, 300));
  return `redis://127.0.0.1:${port}`;
}

async function startService(env: Record<string, string>): Promise<{ base: string; child: ChildProcess }> {
  const port = await freePort();
  const child = spawn(process.execPath, [path.join(ROOT, "dist/src/server.js")], {
    env: { ...process.env, PORT: String(port), HOST: "127.0.0.1", LOG_LEVEL: "warn", ...env },
    stdio: "ignore",
  });
  children.push(child);
  const base = `http://127.0.0.1:${port}`;
  await waitFor(`${base}/readyz`);
  return { base, child };
}

function patchTail(input: Buffer, tag: number, digits: string): void {
  const value = readPart10(input).dataset.find((e) => e.tag === tag)!.value!;
  let end = value.length;
  while (end > 0 && (value[end - 1] === 0 || value[end - 1] === 0x20)) end--;
  Buffer.from(digits, "latin1").copy(input, value.byteOffset - input.byteOffset + end - digits.length);
}

function studyUid(input: Buffer): string {
  const value = readPart10(input).dataset.find((e) => e.tag === 0x0020000d)!.value!;
  return Buffer.from(value)
    .toString("latin1")
    .replace(/[\0 ]+$/, "");
}

async function fill(source: string): Promise<string[]> {
  const seed = fs.readFileSync(SEED);
  const studies: string[] = [];
  let n = 0;
  for (let st = 0; st < 10; st++) {
    for (let se = 0; se < 4; se++) {
      for (let i = 0; i < 25; i++) {
        const input = Buffer.from(seed);
        patchTail(input, 0x0020000d, `9${String(st).padStart(3, "0")}`);
        patchTail(input, 0x0020000e, `9${String(st * 4 + se).padStart(4, "0")}`);
        patchTail(input, 0x00080018, `9${String(n++).padStart(5, "0")}`);
        const r = await fetch(`${source}/instances`, { method: "POST", body: new Uint8Array(input) });
        if (!r.ok) throw new Error(`upload: ${r.status}`);
        if (se === 0 && i === 0) studies.push(studyUid(input));
      }
    }
  }
  return studies;
}

function peakRssMb(pid: number): number {
  const status = fs.readFileSync(`/proc/${pid}/status`, "utf8");
  return Number(/VmHWM:\s+(\d+) kB/.exec(status)?.[1] ?? 0) / 1024;
}

async function run(redis: string, source: string, studies: string[], consumers: number) {
  const destination = await startOrthanc(`dest${consumers}`);
  const env = {
    SESSION_STORE: redis,
    JOBS: "on",
    UID_SECRET: "bench",
    WORKERS: "1",
    SOURCES: JSON.stringify({ pacs: { url: `${source}/dicom-web` } }),
    DESTINATION_STOW_URL: `${destination}/dicom-web/studies`,
  };
  const services = [];
  for (let i = 0; i < consumers; i++) services.push(await startService(env));
  const started = performance.now();
  const r = await fetch(`${services[0]!.base}/jobs`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ source: { name: "pacs", studies }, profile: "basic" }),
  });
  if (r.status !== 202) throw new Error(`POST /jobs: ${r.status}`);
  const location = r.headers.get("location")!;
  let status: { state: string; counts: { done: number; total: number; failed: number } };
  for (;;) {
    status = (await (await fetch(`${services[0]!.base}${location}`)).json()) as typeof status;
    if (!["queued", "running"].includes(status.state)) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  const seconds = (performance.now() - started) / 1000;
  const stats = (await (await fetch(`${destination}/statistics`)).json()) as { CountInstances: number };
  const rss = services.map((s) => peakRssMb(s.child.pid!));
  for (const s of services) s.child.kill("SIGTERM");
  return {
    consumers,
    state: status.state,
    ...status.counts,
    atDestination: stats.CountInstances,
    seconds,
    rss,
  };
}

async function main(): Promise<void> {
  try {
    const redis = await startRedis();
    const source = await startOrthanc("source");
    const filling = performance.now();
    const studies = await fill(source);
    const fillSeconds = (performance.now() - filling) / 1000;
    const rows = [];
    for (const consumers of [1, 2]) rows.push(await run(redis, source, studies, consumers));
    console.log(
      `| consumers | instances | at destination | seconds | instances/s | peak RSS MB per process |`,
    );
    console.log(
      `| --------: | --------: | -------------: | ------: | ----------: | ----------------------- |`,
    );
    console.log(
      `Reference: Orthanc alone stored the 1,000 originals (POST /instances, one client) at ${(1000 / fillSeconds).toFixed(1)} instances/s.`,
    );
    for (const r of rows)
      console.log(
        `| ${r.consumers} | ${r.done}/${r.total} (${r.state}, ${r.failed} failed) | ${r.atDestination} | ${r.seconds.toFixed(1)} | ${(r.done / r.seconds).toFixed(1)} | ${r.rss.map((m) => m.toFixed(0)).join(", ")} |`,
      );
  } finally {
    for (const c of children) if (c.exitCode === null) c.kill("SIGTERM");
  }
}

await main();
