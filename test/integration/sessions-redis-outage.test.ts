/**
 * Redis stops mid-test (a real redis-server, stopped and started again with its data kept): session
 * routes answer 503 + Retry-After problem+json, quickly, and a POST /sessions cut by the outage leaves
 * no originals (PHI) behind once Redis is back.
 */
import http from "node:http";
import type { AddressInfo } from "node:net";
import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { testApp, type TestApp } from "../helpers/app.js";
import { corpusFile } from "../helpers/corpus.js";
import { redisAvailable, restartableRedis, type RestartableRedis } from "../helpers/redis.js";
import { requireTool } from "../helpers/tools.js";

const HAVE_REDIS = requireTool("redis-server", "redis-server") && redisAvailable();
const CT = corpusFile("ct-implicit-le-ge.dcm");
const MR = corpusFile("mr-small-implicit-le.dcm");
const dicom = { "content-type": "application/dicom" };

describe.runIf(HAVE_REDIS)("the Redis session store goes down", () => {
  let redis: RestartableRedis;
  let t: TestApp;
  let base: string;
  let inspect: Redis;

  beforeAll(async () => {
    redis = await restartableRedis();
    t = await testApp({ SESSION_STORE: redis.url });
    await t.app.listen({ port: 0, host: "127.0.0.1" });
    base = `http://127.0.0.1:${(t.app.server.address() as AddressInfo).port}`;
    for (let i = 0; i < 100 && (await fetch(`${base}/healthz`)).status !== 200; i++)
      await new Promise((r) => setTimeout(r, 100));
    inspect = new Redis(redis.url, { maxRetriesPerRequest: null });
    inspect.on("error", () => undefined);
  }, 60_000);

  afterAll(async () => {
    inspect?.disconnect();
    await t?.app.close();
    await redis?.stop();
  });

  const sessionKeys = async () => (await inspect.keys("dwanon:session:*")).sort();

  it("session routes answer 503 with Retry-After while it is down, and work again when it is back", async () => {
    const created = await fetch(`${base}/sessions`, {
      method: "POST",
      body: new Uint8Array(MR),
      headers: dicom,
    });
    expect(created.status).toBe(201);
    const { id } = (await created.json()) as { id: string };
    await redis.stop();
    try {
      const routes: Array<[string, string, Uint8Array<ArrayBuffer>?]> = [
        ["GET", `/sessions/${id}`],
        ["POST", "/sessions", new Uint8Array(MR)],
        ["POST", `/sessions/${id}/instances`, new Uint8Array(MR)],
        ["GET", `/sessions/${id}/preview?profile=hipaa`],
        ["POST", `/sessions/${id}/apply?profile=hipaa`],
        ["POST", `/sessions/${id}/commit`],
        ["DELETE", `/sessions/${id}`],
      ];
      for (const [method, route, body] of routes) {
        const started = Date.now();
        const r = await fetch(`${base}${route}`, { method, ...(body ? { body, headers: dicom } : {}) });
        const ms = Date.now() - started;
        console.log(`Redis down: ${method} ${route.replace(id, "{id}")} -> ${r.status} in ${ms} ms`);
        expect(r.status, `${method} ${route}`).toBe(503);
        expect(r.headers.get("retry-after")).toMatch(/^\d+$/);
        expect(r.headers.get("content-type")).toMatch(/^application\/problem\+json/);
        expect(((await r.json()) as { detail: string }).detail).toMatch(/session store/);
        expect(ms).toBeLessThan(3000);
      }
      expect((await fetch(`${base}/readyz`)).status).toBe(503);
    } finally {
      await redis.start();
    }
    // Back: the session is still there (the store kept it), and usable.
    let status = 0;
    for (let i = 0; i < 50 && status !== 200; i++) {
      status = (await fetch(`${base}/sessions/${id}`)).status;
      if (status !== 200) await new Promise((r) => setTimeout(r, 100));
    }
    expect(status).toBe(200);
    expect((await fetch(`${base}/sessions/${id}/apply?profile=hipaa`, { method: "POST" })).status).toBe(200);
    expect((await fetch(`${base}/sessions/${id}`, { method: "DELETE" })).status).toBe(204);
  });

  it("a POST /sessions cut by the outage leaves no originals behind", async () => {
    expect(await sessionKeys()).toEqual([]);
    // A two-instance upload, streamed: the first part goes in, then Redis stops, then the rest.
    const boundary = "outage-boundary-5678";
    const part = (data: Buffer) =>
      Buffer.concat([
        Buffer.from(`--${boundary}\r\nContent-Type: application/dicom\r\n\r\n`),
        data,
        Buffer.from("\r\n"),
      ]);
    const answer = new Promise<{ status: number; headers: http.IncomingHttpHeaders; body: string }>(
      (resolve, reject) => {
        const req = http.request(`${base}/sessions`, {
          method: "POST",
          headers: { "content-type": `multipart/related; type="application/dicom"; boundary=${boundary}` },
        });
        req.on("response", (res) => {
          let body = "";
          res.on("data", (c: Buffer) => (body += c.toString()));
          res.on("end", () => resolve({ status: res.statusCode!, headers: res.headers, body }));
        });
        req.on("error", reject);
        req.write(part(CT));
        req.write(`--${boundary}\r\nContent-Type: application/dicom\r\n\r\n`);
        void (async () => {
          // The first instance is in Redis: then the outage.
          for (let i = 0; i < 200 && (await sessionKeys()).length === 0; i++)
            await new Promise((r) => setTimeout(r, 25));
          const held = await sessionKeys();
          console.log(`before the outage, keys of the upload in Redis: ${held.length}`);
          await redis.stop();
          req.end(Buffer.concat([CT, Buffer.from(`\r\n--${boundary}--\r\n`)]));
        })();
      },
    );
    const res = await answer;
    console.log(`POST /sessions cut by the outage -> ${res.status}`);
    await redis.start();
    try {
      // Once Redis answers again, what the cut upload wrote goes (within seconds, not at the TTL).
      let left = await sessionKeys();
      for (let i = 0; i < 100 && left.length > 0; i++) {
        await new Promise((r) => setTimeout(r, 100));
        left = await sessionKeys();
      }
      const ttls = await Promise.all(left.map((k) => inspect.pttl(k)));
      console.log(
        `after Redis is back: ${left.length} keys of the cut upload left (TTLs ${ttls.join(",")} ms)`,
      );
      expect(left).toEqual([]);
      expect(res.status).toBe(503);
      expect(res.headers["retry-after"]).toMatch(/^\d+$/);
      expect(res.headers["content-type"]).toMatch(/^application\/problem\+json/);
    } finally {
      await inspect.flushdb();
    }
  });
});
