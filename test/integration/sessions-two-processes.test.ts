/**
 * Scale-out: two service processes share one Redis. Upload on one; preview, apply and commit on the
 * other.
 */
import type { ChildProcess } from "node:child_process";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { readWithDcmjs } from "../helpers/dicom.js";
import { splitMultipart } from "../helpers/app.js";
import { redisAvailable, startRedis, type RedisServer } from "../helpers/redis.js";
import { startService } from "../helpers/service.js";
import { requireTool } from "../helpers/tools.js";
import { seedStoryInstance } from "../helpers/seed.js";
import { distinctInstances, sopInstanceUIDOf } from "../helpers/distinct.js";

const HAVE_REDIS = requireTool("redis-server", "redis-server") && redisAvailable();

describe.runIf(HAVE_REDIS)("two service processes sharing one Redis", () => {
  let redis: RedisServer;
  const servers: ChildProcess[] = [];
  const bases: string[] = [];

  beforeAll(async () => {
    redis = await startRedis();
    for (let i = 0; i < 2; i++) {
      const service = await startService({
        SESSION_STORE: redis.url,
        UID_SECRET: "shared-secret",
        MAX_CONCURRENT_REQUESTS: "64", // admission is not what the parallel adds test
      });
      servers.push(service.child);
      bases.push(service.base);
    }
  }, 60_000);

  afterAll(async () => {
    for (const s of servers) s.kill("SIGTERM");
    await redis?.stop();
  });

  it("uploads on A, previews, applies and commits on B", async () => {
    const [a, b] = bases as [string, string];
    const created = await fetch(`${a}/sessions`, {
      method: "POST",
      body: new Uint8Array(seedStoryInstance()),
      headers: { "content-type": "application/dicom" },
    });
    expect(created.status).toBe(201);
    const { id } = (await created.json()) as { id: string };

    const preview = (await (await fetch(`${b}/sessions/${id}/preview?profile=hipaa`)).json()) as {
      instances: Array<{ changes: Array<{ keyword: string; after: string }> }>;
    };
    expect(preview.instances[0]!.changes.find((c) => c.keyword === "PatientAge")?.after).toBe("089Y");
    expect((await fetch(`${b}/sessions/${id}/apply?profile=hipaa`, { method: "POST" })).status).toBe(200);
    expect(((await (await fetch(`${a}/sessions/${id}`)).json()) as { state: string }).state).toBe("applied");

    const committed = await fetch(`${b}/sessions/${id}/commit`, { method: "POST" });
    expect(committed.status).toBe(200);
    const body = Buffer.from(await committed.arrayBuffer());
    const parts = splitMultipart(body, committed.headers.get("content-type")!);
    expect(readWithDcmjs(parts[1]!.data).dict["00101010"]?.Value?.[0]).toBe("089Y");
    expect(((await (await fetch(`${a}/sessions/${id}`)).json()) as { state: string }).state).toBe(
      "committed",
    );
    expect((await fetch(`${a}/sessions/${id}`, { method: "DELETE" })).status).toBe(204);
    expect((await fetch(`${b}/sessions/${id}`)).status).toBe(404);
  });

  it("12 parallel adds split between A and B all land, each at its own index", async () => {
    const [a, b] = bases as [string, string];
    const instances = distinctInstances("mr-small-implicit-le.dcm", 13);
    const post = (base: string, route: string, data: Buffer) =>
      fetch(`${base}${route}`, {
        method: "POST",
        body: new Uint8Array(data),
        headers: { "content-type": "application/dicom" },
      });
    const created = await post(a, "/sessions", instances[0]!);
    expect(created.status).toBe(201);
    const { id } = (await created.json()) as { id: string };
    const adds = await Promise.all(
      instances.slice(1).map((data, i) => post(i % 2 ? a : b, `/sessions/${id}/instances`, data)),
    );
    expect(adds.map((r) => r.status)).toEqual(Array(12).fill(200));
    const session = (await (await fetch(`${b}/sessions/${id}`)).json()) as {
      instances: Array<{ index: number; sopInstanceUID: string }>;
    };
    expect(session.instances.map((i) => i.index)).toEqual([...Array(13).keys()]);
    expect(new Set(session.instances.map((i) => i.sopInstanceUID))).toEqual(
      new Set(instances.map(sopInstanceUIDOf)),
    );
    expect((await fetch(`${a}/sessions/${id}`, { method: "DELETE" })).status).toBe(204);
  });
});
