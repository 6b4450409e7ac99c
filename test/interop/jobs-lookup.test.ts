/**
 * A job with a lookup-table profile (issue 13, linkage): Orthanc as source and destination, BullMQ
 * on a real redis-server, the service as a process reading the profile and its CSV from PROFILES_DIR.
 * Every instance of the patient arrives with the trial subject ID; with a table that lacks the
 * patient, every instance is a listed failure naming the tag and the table, never the key.
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { readPart10 } from "../../src/dicom/part10.js";
import { asciiValue } from "../../src/dicom/values.js";
import { orthanc, orthancAvailable, type OrthancServer } from "../helpers/orthanc.js";
import { redisAvailable, startRedis, type RedisServer } from "../helpers/redis.js";
import { startService, type ServiceProcess } from "../helpers/service.js";
import { makeStudies } from "../helpers/studies.js";
import { requireTool } from "../helpers/tools.js";

const HAVE =
  requireTool("Orthanc", "orthanc orthanc-dicomweb") &&
  orthancAvailable() &&
  requireTool("redis-server", "redis-server") &&
  redisAvailable();

interface JobStatus {
  state: string;
  counts: { total: number; done: number; failed: number; skipped: number };
  failures: Array<{ reason: string }>;
}

const servers: OrthancServer[] = [];
let redis: RedisServer | undefined;
let service: ServiceProcess | undefined;
let dir: string | undefined;

afterAll(async () => {
  if (service?.child.exitCode === null) service.child.kill("SIGTERM");
  for (const s of servers) await s.stop();
  await redis?.stop();
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

function profile(name: string, table: string): Record<string, unknown> {
  return {
    name,
    description: "basic with trial subject IDs",
    version: "1",
    extends: "basic",
    lookupTables: { subjects: { file: table } },
    rules: [
      { keyword: "PatientID", action: "replace", value: "X", lookup: { table: "subjects" } },
      {
        keyword: "PatientName",
        action: "replace",
        value: "X",
        lookup: { table: "subjects", key: "PatientID" },
      },
    ],
  };
}

async function runJob(base: string, body: unknown): Promise<JobStatus> {
  const r = await fetch(`${base}/jobs`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(body),
  });
  expect(r.status).toBe(202);
  const location = r.headers.get("location")!;
  const deadline = Date.now() + 90_000;
  for (;;) {
    const s = (await (await fetch(`${base}${location}`)).json()) as JobStatus;
    if (["completed", "failed", "cancelled"].includes(s.state)) return s;
    if (Date.now() > deadline) throw new Error(`job did not finish: ${JSON.stringify(s)}`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

describe.runIf(HAVE)("a job with a lookup-table profile", () => {
  let source: OrthancServer;
  let destination: OrthancServer;
  let studyUIDs: string[];
  let originalId: string;

  beforeAll(async () => {
    const made = makeStudies(2, 1, 3, 8);
    studyUIDs = made.studyUIDs;
    const seed = readPart10(made.instances[0]!).dataset.find((e) => e.tag === 0x00100020)!;
    originalId = asciiValue(seed.value).trim();
    expect(originalId).not.toBe("");
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "jobs-lookup-"));
    fs.writeFileSync(path.join(dir, "subjects.csv"), `original,new\n"${originalId}",TRIAL-0042\n`);
    fs.writeFileSync(path.join(dir, "others.csv"), "original,new\nSOMEONE-ELSE,TRIAL-0001\n");
    fs.writeFileSync(path.join(dir, "trial.json"), JSON.stringify(profile("trial", "subjects.csv")));
    fs.writeFileSync(path.join(dir, "trial-miss.json"), JSON.stringify(profile("trial-miss", "others.csv")));

    redis = await startRedis();
    source = orthanc("lookupsource");
    destination = orthanc("lookupdest");
    servers.push(source, destination);
    await source.start();
    await destination.start();
    for (const data of made.instances) {
      const r = await fetch(`${source.base}/instances`, { method: "POST", body: new Uint8Array(data) });
      expect(r.status).toBe(200);
    }
    service = await startService({
      SESSION_STORE: redis.url,
      JOBS: "on",
      UID_SECRET: "jobs-lookup-test",
      JOB_ATTEMPTS: "2",
      JOB_BACKOFF_MS: "300",
      PROFILES_DIR: dir,
      SOURCES: JSON.stringify({ pacs: { url: `${source.base}/dicom-web` } }),
      DESTINATION_STOW_URL: destination.stowUrl,
    });
  }, 120_000);

  it("every instance of the patient arrives with the same trial subject ID", async () => {
    const end = await runJob(service!.base, {
      source: { name: "pacs", studies: studyUIDs },
      profile: "trial",
    });
    expect(end.failures).toEqual([]);
    expect(end.state).toBe("completed");
    expect(end.counts).toEqual({ total: 6, done: 6, failed: 0, skipped: 0 });
    const instances = await destination.get<string[]>("/instances");
    expect(instances).toHaveLength(6);
    for (const id of instances) {
      const tags = await destination.get<Record<string, string>>(`/instances/${id}/simplified-tags`);
      expect(tags.PatientID).toBe("TRIAL-0042");
      expect(tags.PatientName).toBe("TRIAL-0042");
    }
    expect((await destination.get<string[]>("/patients")).length).toBe(1);
  }, 120_000);

  it("a table without the patient: every instance is a failure naming the tag and the table", async () => {
    const end = await runJob(service!.base, {
      source: { name: "pacs", studies: studyUIDs },
      profile: "trial-miss",
    });
    expect(end.counts).toMatchObject({ total: 6, done: 0, failed: 6 });
    expect(end.failures).toHaveLength(6);
    for (const f of end.failures) {
      expect(f.reason).toMatch(/\(0010,00[12]0\): no entry in lookup table subjects/);
      expect(f.reason).not.toContain(originalId);
    }
    expect(await destination.get<string[]>("/instances")).toHaveLength(6);
  }, 120_000);
});
