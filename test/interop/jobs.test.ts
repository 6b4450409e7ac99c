/**
 * Jobs with real parts: Orthanc + DICOMweb plugin as the source PACS and as the destination, a real
 * redis-server as the BullMQ queue, the service as separate processes (dist/src/server.js).
 * - a 3-study job completes, its counts match Orthanc's, and an identical second job leaves the
 *   destination's instance count unchanged (keyed UIDs: the destination keeps each instance once);
 * - two consuming processes, one SIGKILLed mid-job: the job completes, every instance arrives once;
 * - the destination down mid-job: units retry with back-off and the job completes when it is back.
 */
import { spawnSync } from "node:child_process";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { multipart } from "../helpers/app.js";
import { ROOT } from "../helpers/corpus.js";
import { orthanc, orthancAvailable, type OrthancServer } from "../helpers/orthanc.js";
import { redisAvailable, startRedis, type RedisServer } from "../helpers/redis.js";
import { startService, type ServiceProcess } from "../helpers/service.js";
import { makeStudies } from "../helpers/studies.js";
import { requireTool } from "../helpers/tools.js";

const CLI = path.join(ROOT, "dist/src/cli.js");

const HAVE =
  requireTool("Orthanc", "orthanc orthanc-dicomweb") &&
  orthancAvailable() &&
  requireTool("redis-server", "redis-server") &&
  redisAvailable();

interface JobStatus {
  state: string;
  counts: { total: number; done: number; failed: number; skipped: number };
  bytes: number;
  rate: number;
  failures: Array<{ reason: string }>;
}

const processes: ServiceProcess[] = [];
const servers: OrthancServer[] = [];
let redis: RedisServer | undefined;

afterAll(async () => {
  for (const p of processes) if (p.child.exitCode === null) p.child.kill("SIGTERM");
  for (const s of servers) await s.stop();
  await redis?.stop();
});

async function upload(server: OrthancServer, instances: Buffer[]): Promise<void> {
  for (const data of instances) {
    const r = await fetch(`${server.base}/instances`, { method: "POST", body: new Uint8Array(data) });
    expect(r.status).toBe(200);
  }
}

async function count(server: OrthancServer): Promise<number> {
  return (await server.get<{ CountInstances: number }>("/statistics")).CountInstances;
}

async function submit(base: string, body: unknown): Promise<string> {
  const r = await fetch(`${base}/jobs`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(body),
  });
  expect(r.status).toBe(202);
  const location = r.headers.get("location")!;
  expect(location).toMatch(/^\/jobs\/[0-9a-f-]{36}$/);
  return location;
}

async function status(base: string, location: string): Promise<JobStatus> {
  const r = await fetch(`${base}${location}`);
  expect(r.status).toBe(200);
  return (await r.json()) as JobStatus;
}

async function until(
  base: string,
  location: string,
  done: (s: JobStatus) => boolean,
  timeoutMs = 90_000,
): Promise<JobStatus> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const s = await status(base, location);
    if (done(s)) return s;
    if (Date.now() > deadline) throw new Error(`job did not get there: ${JSON.stringify(s)}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

const finished = (s: JobStatus) => ["completed", "failed", "cancelled"].includes(s.state);

describe.runIf(HAVE)("jobs: Orthanc -> service (BullMQ on Redis) -> Orthanc", () => {
  let source: OrthancServer;
  let env: Record<string, string>;

  beforeAll(async () => {
    redis = await startRedis();
    source = orthanc("jobsource");
    servers.push(source);
    await source.start();
    env = {
      SESSION_STORE: redis.url,
      JOBS: "on",
      UID_SECRET: "jobs-test",
      JOB_LOCK_MS: "2000",
      JOB_BACKOFF_MS: "300",
      JOB_ATTEMPTS: "12",
      DESTINATION_TIMEOUT_MS: "5000",
      SOURCES: JSON.stringify({ pacs: { url: `${source.base}/dicom-web` } }),
    };
  }, 60_000);

  it("a 3-study job completes, counts match Orthanc's, a second identical job is deduplicated", async () => {
    const { instances, studyUIDs } = makeStudies(3, 2, 2);
    await upload(source, instances);
    const destination = orthanc("jobdest1");
    servers.push(destination);
    await destination.start();
    const service = await startService({ ...env, DESTINATION_STOW_URL: destination.stowUrl });
    processes.push(service);

    const job = { source: { name: "pacs", studies: studyUIDs }, profile: "basic", destination: "default" };
    const first = await until(service.base, await submit(service.base, job), finished);
    expect(first.failures).toEqual([]);
    expect(first.state).toBe("completed");
    expect(first.counts).toEqual({ total: 12, done: 12, failed: 0, skipped: 0 });
    expect(first.bytes).toBeGreaterThan(0);
    const stats = await destination.get<{ CountInstances: number; CountStudies: number }>("/statistics");
    expect(stats.CountInstances).toBe(12);
    expect(stats.CountStudies).toBe(3);
    // Nothing of the originals' UIDs at the destination: they were remapped.
    const studies = await destination.get<string[]>("/studies?expand");
    expect(JSON.stringify(studies)).not.toContain(studyUIDs[0]);

    const second = await until(service.base, await submit(service.base, job), finished);
    expect(second.state).toBe("completed");
    expect(second.counts.done).toBe(12);
    expect(await count(destination)).toBe(12);
    service.child.kill("SIGTERM");
  }, 180_000);

  it("two consuming processes, one SIGKILLed mid-job: the job completes, each instance arrives once", async () => {
    const { instances, studyUIDs } = makeStudies(3, 4, 10, 1);
    await upload(source, instances);
    const destination = orthanc("jobdest2");
    servers.push(destination);
    await destination.start();
    const a = await startService({ ...env, DESTINATION_STOW_URL: destination.stowUrl });
    const b = await startService({ ...env, DESTINATION_STOW_URL: destination.stowUrl });
    processes.push(a, b);
    const location = await submit(a.base, {
      source: { name: "pacs", studies: studyUIDs },
      profile: "basic",
    });
    await until(b.base, location, (s) => s.counts.done >= 10, 60_000);
    a.child.kill("SIGKILL");
    const end = await until(b.base, location, finished, 120_000);
    expect(end.failures).toEqual([]);
    expect(end.state).toBe("completed");
    expect(end.counts).toEqual({ total: 120, done: 120, failed: 0, skipped: 0 });
    expect(await count(destination)).toBe(120);
    b.child.kill("SIGTERM");
  }, 240_000);

  it("the destination down mid-job: units retry with back-off, the job completes when it is back", async () => {
    const { instances, studyUIDs } = makeStudies(2, 3, 10, 2);
    await upload(source, instances);
    const destination = orthanc("jobdest3");
    servers.push(destination);
    await destination.start();
    const service = await startService({ ...env, DESTINATION_STOW_URL: destination.stowUrl });
    processes.push(service);
    const location = await submit(service.base, {
      source: { name: "pacs", studies: studyUIDs },
      profile: "basic",
    });
    await until(service.base, location, (s) => s.counts.done >= 1, 60_000);
    await destination.stop();
    await new Promise((r) => setTimeout(r, 3000));
    const during = await status(service.base, location);
    expect(during.state).toBe("running");
    await destination.start();
    const end = await until(service.base, location, finished, 120_000);
    expect(end.failures).toEqual([]);
    expect(end.state).toBe("completed");
    expect(end.counts.done).toBe(60);
    expect(await count(destination)).toBe(60);
    service.child.kill("SIGTERM");
  }, 240_000);

  it("failures are listed with reasons; retry runs only them and the job completes", async () => {
    const { instances, studyUIDs } = makeStudies(2, 2, 3, 3);
    await upload(source, instances);
    const destination = orthanc("jobdest4");
    servers.push(destination);
    // Started once for its port, then stopped: every unit gives up after its single attempt.
    await destination.start();
    await destination.stop();
    const service2 = await startService({
      ...env,
      JOB_ATTEMPTS: "1",
      DESTINATIONS: JSON.stringify({ archive: { url: destination.stowUrl } }),
    });
    processes.push(service2);
    const location = await submit(service2.base, {
      source: { name: "pacs", studies: studyUIDs },
      profile: "basic",
      destination: "archive",
    });
    const failed = await until(service2.base, location, finished);
    expect(failed.state).toBe("failed");
    expect(failed.counts.done).toBe(0);
    expect(failed.failures).toHaveLength(4);
    for (const f of failed.failures)
      expect(f.reason).toMatch(/gave up after 1 attempts: destination unreachable/);
    // No original UID is echoed in a reason.
    for (const uid of studyUIDs)
      expect(JSON.stringify(failed.failures.map((f) => f.reason))).not.toContain(uid);

    await destination.start();
    const r = await fetch(`${service2.base}${location}/retry`, { method: "POST" });
    expect(r.status).toBe(202);
    const end = await until(service2.base, location, finished);
    expect(end.state).toBe("completed");
    expect(end.failures).toEqual([]);
    expect(end.counts).toEqual({ total: 12, done: 12, failed: 0, skipped: 0 });
    expect(await count(destination)).toBe(12);
    // A completed job without failures has nothing to retry.
    expect((await fetch(`${service2.base}${location}/retry`, { method: "POST" })).status).toBe(409);
    service2.child.kill("SIGTERM");
  }, 180_000);

  it("DELETE cancels: the job stops, what it did not do is counted as skipped", async () => {
    const { instances, studyUIDs } = makeStudies(2, 5, 6, 4);
    await upload(source, instances);
    const destination = orthanc("jobdest5");
    servers.push(destination);
    await destination.start();
    const service = await startService({ ...env, DESTINATION_STOW_URL: destination.stowUrl });
    processes.push(service);
    const location = await submit(service.base, { source: { name: "pacs", studies: studyUIDs } });
    await until(service.base, location, (s) => s.counts.total === 60 && s.counts.done >= 1, 60_000);
    const r = await fetch(`${service.base}${location}`, { method: "DELETE" });
    expect(r.status).toBe(200);
    expect(((await r.json()) as JobStatus).state).toBe("cancelled");
    await new Promise((r) => setTimeout(r, 2000));
    const end = await status(service.base, location);
    expect(end.state).toBe("cancelled");
    expect(end.counts.done).toBeLessThan(60);
    expect(end.counts.done + end.counts.skipped + end.counts.failed).toBe(60);
    expect(await count(destination)).toBe(end.counts.done);
    service.child.kill("SIGTERM");
  }, 180_000);
});

describe.runIf(HAVE)("jobs: other sources", () => {
  it("a QIDO-RS query, one series, and a session each reach the destination", async () => {
    redis ??= await startRedis();
    const source = orthanc("jobsource2");
    const destination = orthanc("jobdest6");
    servers.push(source, destination);
    await source.start();
    await destination.start();
    const { instances, studyUIDs } = makeStudies(2, 2, 3, 5);
    await upload(source, instances);
    const service = await startService({
      SESSION_STORE: redis.url,
      JOBS: "on",
      UID_SECRET: "jobs-test",
      SOURCES: JSON.stringify({ pacs: { url: `${source.base}/dicom-web` } }),
      DESTINATION_STOW_URL: destination.stowUrl,
    });
    processes.push(service);

    const byQuery = await until(
      service.base,
      await submit(service.base, { source: { name: "pacs", query: { StudyInstanceUID: studyUIDs[0] } } }),
      finished,
    );
    expect(byQuery).toMatchObject({ state: "completed", counts: { total: 6, done: 6, failed: 0 } });
    expect(JSON.stringify(byQuery)).not.toContain(studyUIDs[0]);
    expect(await count(destination)).toBe(6);

    const series = await source.get<Array<{ MainDicomTags: { SeriesInstanceUID: string } }>>(
      `/studies/${(await source.post<{ ID: string }[]>("/tools/lookup", studyUIDs[1])).json[0]!.ID}/series`,
    );
    const one = await until(
      service.base,
      await submit(service.base, {
        source: { name: "pacs", study: studyUIDs[1], series: series[0]!.MainDicomTags.SeriesInstanceUID },
      }),
      finished,
    );
    expect(one).toMatchObject({ state: "completed", counts: { total: 3, done: 3, failed: 0 } });
    expect(await count(destination)).toBe(9);

    // A session's originals, de-identified under the job's profile.
    const session = await fetch(`${service.base}/sessions`, {
      method: "POST",
      headers: { "content-type": 'multipart/related; type="application/dicom"; boundary=test-boundary-1234' },
      body: new Uint8Array(
        multipart(makeStudies(1, 1, 4, 6).instances.map((data) => ({ type: "application/dicom", data }))),
      ),
    });
    expect(session.status).toBe(201);
    const id = ((await session.json()) as { id: string }).id;
    const fromSession = await until(
      service.base,
      await submit(service.base, { source: { session: id }, profile: "basic" }),
      finished,
    );
    expect(fromSession).toMatchObject({ state: "completed", counts: { total: 4, done: 4, failed: 0 } });
    expect(await count(destination)).toBe(13);

    // The CLI submits and follows a job: exit 0 and a summary once it completed. Of its 12
    // instances, 9 are at the destination already (the query's study, the single series): only
    // the second study's other series (3) is new there.
    const cli = spawnSync(
      process.execPath,
      [
        CLI,
        "job",
        "--server",
        service.base,
        "--source",
        "pacs",
        "--study",
        studyUIDs[0]!,
        "--study",
        studyUIDs[1]!,
      ],
      { encoding: "utf8", timeout: 120_000 },
    );
    expect(cli.status, cli.stderr).toBe(0);
    expect(cli.stdout).toMatch(/^job: http:\/\/127\.0\.0\.1:\d+\/jobs\/[0-9a-f-]{36}$/m);
    expect(cli.stdout).toMatch(/^completed: 12 done, 0 failed, 0 skipped of 12 /m);
    expect(await count(destination)).toBe(13 + 3);
    // An unknown source: the service's refusal, exit 2.
    const refused = spawnSync(
      process.execPath,
      [CLI, "job", "--server", service.base, "--source", "nope", "--study", "1.2.3"],
      { encoding: "utf8", timeout: 60_000 },
    );
    expect(refused.status).toBe(2);
    expect(refused.stderr).toMatch(/refused the job \(404\)/);
    service.child.kill("SIGTERM");
  }, 180_000);
});

describe.runIf(HAVE)("jobs: the mapping export (re-identifies: off by default, token required)", () => {
  it("uid_mapping.csv and patid_mapping.csv link the originals to what reached the destination", async () => {
    redis ??= await startRedis();
    const source = orthanc("jobsource3");
    const destination = orthanc("jobdest7");
    servers.push(source, destination);
    await source.start();
    await destination.start();
    const { instances, studyUIDs } = makeStudies(1, 2, 2, 7);
    await upload(source, instances);
    const common = {
      SESSION_STORE: redis.url,
      JOBS: "on",
      UID_SECRET: "jobs-test",
      SOURCES: JSON.stringify({ pacs: { url: `${source.base}/dicom-web` } }),
      DESTINATION_STOW_URL: destination.stowUrl,
    };
    const off = await startService(common);
    const on = await startService({ ...common, MAPPING_EXPORT: "on" });
    processes.push(off, on);
    const body = JSON.stringify({ source: { name: "pacs", studies: studyUIDs }, profile: "basic" });
    const post = (base: string) =>
      fetch(`${base}/jobs`, { method: "POST", headers: { "content-type": "application/json" }, body });

    // Off (the default): no token, and the CSVs are 404.
    const r0 = await post(off.base);
    const plain = (await r0.json()) as { id: string; mappingToken?: string };
    expect(plain.mappingToken).toBeUndefined();
    await until(off.base, `/jobs/${plain.id}`, finished);
    expect((await fetch(`${off.base}/jobs/${plain.id}/uid_mapping.csv`)).status).toBe(404);

    const r1 = await post(on.base);
    const job = (await r1.json()) as { id: string; mappingToken: string };
    expect(job.mappingToken).toMatch(/^[A-Za-z0-9_-]{32}$/);
    const end = await until(on.base, `/jobs/${job.id}`, finished);
    expect(end.state).toBe("completed");
    expect(JSON.stringify(end)).not.toContain(job.mappingToken);
    const csv = (kind: string, token?: string) =>
      fetch(`${on.base}/jobs/${job.id}/${kind}_mapping.csv`, {
        headers: token ? { "x-mapping-token": token } : {},
      });
    expect((await csv("uid")).status).toBe(403);
    expect((await csv("uid", `${job.mappingToken}x`)).status).toBe(403);
    expect((await csv("patid", "wrong")).status).toBe(403);

    const uid = await csv("uid", job.mappingToken);
    expect(uid.status).toBe(200);
    expect(uid.headers.get("content-type")).toMatch(/^text\/csv/);
    const lines = (await uid.text()).trim().split("\r\n");
    expect(lines[0]).toBe("original,new");
    const rows = new Map(
      lines.slice(1).map((l) => l.split(",").map((c) => c.replace(/^"|"$/g, "")) as [string, string]),
    );
    // 1 study, 2 series, 4 instances.
    expect(rows.size).toBe(7);
    expect(rows.has(studyUIDs[0]!)).toBe(true);
    // Every new UID is what the destination holds.
    const held =
      await destination.get<Array<{ MainDicomTags: { StudyInstanceUID: string } }>>("/studies?expand");
    expect(held.map((s) => s.MainDicomTags.StudyInstanceUID)).toEqual([rows.get(studyUIDs[0]!)]);
    for (const [original, replaced] of rows) {
      expect(replaced).not.toBe(original);
      expect((await destination.post<unknown[]>("/tools/lookup", replaced)).json).toHaveLength(1);
    }

    const patid = await csv("patid", job.mappingToken);
    expect(patid.status).toBe(200);
    const patLines = (await patid.text()).trim().split("\r\n");
    expect(patLines[0]).toBe("original,new");
    expect(patLines).toHaveLength(2);
    const [originalPid, newPid] = patLines[1]!.split(",").map((c) => c.replace(/^"|"$/g, ""));
    const atDestination =
      await destination.get<Array<{ PatientMainDicomTags: { PatientID?: string } }>>("/studies?expand");
    expect(atDestination[0]!.PatientMainDicomTags.PatientID ?? "").toBe(newPid);
    expect(originalPid).not.toBe(newPid);
    off.child.kill("SIGTERM");
    on.child.kill("SIGTERM");
  }, 180_000);
});

describe("jobs: the API's refusals", () => {
  it("without Redis every job route answers a 503 problem", async () => {
    const { testApp } = await import("../helpers/app.js");
    const t = await testApp();
    try {
      for (const [method, url] of [
        ["POST", "/jobs"],
        ["GET", "/jobs/00000000-0000-0000-0000-000000000000"],
        ["DELETE", "/jobs/00000000-0000-0000-0000-000000000000"],
        ["POST", "/jobs/00000000-0000-0000-0000-000000000000/retry"],
      ] as const) {
        const r = await t.app.inject({ method, url, payload: method === "POST" ? {} : undefined });
        expect(r.statusCode).toBe(503);
        expect(r.headers["content-type"]).toMatch(/application\/problem\+json/);
        expect(r.json().detail).toMatch(/SESSION_STORE/);
      }
    } finally {
      await t.app.close();
    }
  });
});

describe.runIf(HAVE)("jobs: bad requests never echo their values", () => {
  it("unknown source, destination or profile: 404; malformed body or UIDs: 400", async () => {
    redis ??= await startRedis();
    const { testApp } = await import("../helpers/app.js");
    const t = await testApp({
      SESSION_STORE: redis.url,
      SOURCES: JSON.stringify({ pacs: { url: "http://127.0.0.1:9/dicom-web" } }),
      DESTINATION_STOW_URL: "http://127.0.0.1:9/studies",
    });
    const marker = "marker-5e1f";
    try {
      const post = (payload: string) =>
        t.app.inject({
          method: "POST",
          url: "/jobs",
          payload,
          headers: { "content-type": "application/json" },
        });
      for (const [payload, code] of [
        [JSON.stringify({ source: { name: marker, study: "1.2.3" } }), 404],
        [JSON.stringify({ source: { name: "pacs", study: "1.2.3" }, destination: marker }), 404],
        [JSON.stringify({ source: { name: "pacs", study: "1.2.3" }, profile: marker }), 404],
        [JSON.stringify({ source: { name: "pacs", study: `1.2.${marker}` } }), 400],
        [JSON.stringify({ source: { name: "pacs", studies: [marker] } }), 400],
        [JSON.stringify({ source: { name: "pacs" } }), 400],
        [`{"source": ${marker}`, 400],
      ] as const) {
        const r = await post(payload);
        expect(r.statusCode, payload).toBe(code);
        expect(r.headers["content-type"]).toMatch(/application\/problem\+json/);
        expect(r.body).not.toContain(marker);
      }
      const missing = await t.app.inject({ method: "GET", url: `/jobs/${marker}` });
      expect(missing.statusCode).toBe(404);
      expect(missing.body).not.toContain(marker);
      for (const line of t.logs) expect(line).not.toContain(marker);
    } finally {
      await t.app.close();
    }
  });
});
