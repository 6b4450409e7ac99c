/**
 * Sessions under concurrency, on both stores (in-memory and a real Redis), over real sockets:
 * parallel adds all land, parallel commits send each instance once, a retry after a partial STOW
 * sends only what the destination did not acknowledge, and apply keeps to the byte limits.
 */
import http from "node:http";
import type { AddressInfo } from "node:net";
import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { splitMultipart, testApp, type TestApp } from "../helpers/app.js";
import { readWithDcmjs } from "../helpers/dicom.js";
import { distinctInstances, sopInstanceUIDOf } from "../helpers/distinct.js";
import { redisAvailable, startRedis, type RedisServer } from "../helpers/redis.js";
import { requireTool } from "../helpers/tools.js";
import { corpusFile } from "../helpers/corpus.js";

const HAVE_REDIS = requireTool("redis-server", "redis-server") && redisAvailable();
let redis: RedisServer | undefined;
beforeAll(async () => {
  if (HAVE_REDIS) redis = await startRedis();
}, 60_000);
afterAll(async () => redis?.stop());

const dicom = { "content-type": "application/dicom" };

async function listen(t: TestApp): Promise<string> {
  await t.app.listen({ port: 0, host: "127.0.0.1" });
  const base = `http://127.0.0.1:${(t.app.server.address() as AddressInfo).port}`;
  // Start-up (profile compilation, workers) can stall the event loop on a busy machine, which
  // under-pressure answers with 503 for a moment: wait until the service takes requests.
  for (let i = 0; i < 100 && (await fetch(`${base}/healthz`)).status !== 200; i++)
    await new Promise((r) => setTimeout(r, 100));
  return base;
}

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any -- response bodies

async function post(url: string, body?: Buffer): Promise<{ status: number; json: Json; headers: Headers }> {
  const r = await fetch(url, {
    method: "POST",
    ...(body ? { body: new Uint8Array(body), headers: dicom } : {}),
  });
  const text = await r.text();
  let json: Json;
  try {
    json = JSON.parse(text);
  } catch {
    json = { text };
  }
  return { status: r.status, json, headers: r.headers };
}

/**
 * A STOW-RS destination for the tests: a real HTTP server that reads each request's parts with
 * dcmjs, records the SOP Instance UIDs it received per request, and acknowledges what `accept`
 * says (the rest as failed, A700). `gate`, when set, holds the answer until it resolves.
 */
interface FakeDestination {
  readonly url: string;
  readonly calls: string[][];
  accept: (uid: string, call: number) => boolean;
  gate?: Promise<void>;
  /** Resolves when a request has arrived (all its parts read). */
  arrived: Promise<void>;
  close(): Promise<void>;
}

async function fakeDestination(): Promise<FakeDestination> {
  let signal = () => undefined as void;
  const dest: FakeDestination = {
    url: "",
    calls: [],
    accept: () => true,
    arrived: new Promise<void>((r) => (signal = r)),
    close: async () => new Promise<void>((r) => server.close(() => r())),
  };
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", async () => {
      const parts = splitMultipart(Buffer.concat(chunks), req.headers["content-type"]!);
      const uids = parts.map((p) => readWithDcmjs(p.data).dict["00080018"]!.Value![0] as string);
      const call = dest.calls.push(uids) - 1;
      signal();
      await dest.gate;
      const item = (uid: string) => ({
        "00081150": { vr: "UI", Value: ["1.2.840.10008.5.1.4.1.1.4"] },
        "00081155": { vr: "UI", Value: [uid] },
      });
      const ok = uids.filter((u) => dest.accept(u, call));
      const failed = uids.filter((u) => !dest.accept(u, call));
      const body = {
        "00081199": { vr: "SQ", Value: ok.map(item) },
        ...(failed.length
          ? {
              "00081198": {
                vr: "SQ",
                Value: failed.map((u) => ({ ...item(u), "00081197": { vr: "US", Value: [0xa700] } })),
              },
            }
          : {}),
      };
      res.writeHead(failed.length === 0 ? 200 : ok.length === 0 ? 409 : 202, {
        "content-type": "application/dicom+json",
      });
      res.end(JSON.stringify(body));
    });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  return Object.assign(dest, {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/studies`,
  });
}

const countBy = (values: string[]) => {
  const counts = new Map<string, number>();
  for (const v of values) counts.set(v, (counts.get(v) ?? 0) + 1);
  return counts;
};

let nextDb = 1;

for (const store of ["memory", "redis"] as const) {
  describe.runIf(store === "memory" || HAVE_REDIS)(`session concurrency on the ${store} store`, () => {
    // Admission (MAX_CONCURRENT_REQUESTS) is not what is tested here.
    const storeEnv = (env: Record<string, string> = {}): Record<string, string> => ({
      ...env,
      MAX_CONCURRENT_REQUESTS: "64",
      // Each app its own Redis database: the byte totals of one test do not spill into another's.
      ...(store === "redis" ? { SESSION_STORE: `${redis!.url}/${nextDb++}` } : {}),
    });

    it("12 parallel adds to one session: every instance is held, once, at its own index", async () => {
      const t = await testApp(storeEnv());
      try {
        const base = await listen(t);
        const instances = distinctInstances("mr-siemens-csa-explicit-le.dcm", 13);
        const created = await post(`${base}/sessions`, instances[0]);
        expect(created.status, JSON.stringify(created.json)).toBe(201);
        const url = `${base}/sessions/${created.json.id}`;
        const adds = await Promise.all(instances.slice(1).map((data) => post(`${url}/instances`, data)));
        expect(adds.map((a) => (a.status === 200 ? 200 : a.json))).toEqual(Array(12).fill(200));
        const session = (await (await fetch(url)).json()) as {
          instances: Array<{ index: number; sopInstanceUID: string }>;
          bytes: number;
        };
        const held = session.instances.length;
        console.log(`${store}: 12 parallel adds -> the session holds ${held} of 13`);
        expect(held).toBe(13);
        expect(new Set(session.instances.map((i) => i.index)).size).toBe(13);
        expect(new Set(session.instances.map((i) => i.sopInstanceUID))).toEqual(
          new Set(instances.map(sopInstanceUIDOf)),
        );
        expect(session.bytes).toBe(instances.reduce((n, i) => n + i.length, 0));
        // Each index serves the instance its listing names.
        for (const info of session.instances) {
          const data = Buffer.from(await (await fetch(`${url}/instances/${info.index}`)).arrayBuffer());
          expect(sopInstanceUIDOf(data)).toBe(info.sopInstanceUID);
        }
      } finally {
        await t.app.close();
      }
    });

    /** A session of `count` distinct instances with hipaa applied; its URL. */
    async function appliedSession(base: string, count: number): Promise<string> {
      const instances = distinctInstances("mr-small-implicit-le.dcm", count);
      const created = await post(`${base}/sessions`, instances[0]);
      const url = `${base}/sessions/${created.json.id}`;
      for (const data of instances.slice(1)) expect((await post(`${url}/instances`, data)).status).toBe(200);
      expect((await post(`${url}/apply?profile=hipaa`)).status).toBe(200);
      return url;
    }

    it("4 parallel commits to a destination: one forwards, the others get 409; each instance arrives once", async () => {
      const dest = await fakeDestination();
      const env = storeEnv({ DESTINATION_STOW_URL: dest.url });
      const t = await testApp(env);
      try {
        const base = await listen(t);
        const url = await appliedSession(base, 3);
        let open = () => undefined as void;
        dest.gate = new Promise<void>((r) => (open = r));
        const commits = Array.from({ length: 4 }, () => post(`${url}/commit?destination=default`));
        // While the first commit waits on the destination: more commits, a download, apply and
        // revert all meet the lease.
        await dest.arrived;
        const racing = await Promise.all([
          post(`${url}/commit`),
          post(`${url}/apply?profile=basic`),
          post(`${url}/revert`),
          post(`${url}/instances`, distinctInstances("mr-small-implicit-le.dcm", 4)[3]),
        ]);
        if (env.SESSION_STORE) {
          // The lease lives in Redis with an expiry: a replica that dies holding it frees it.
          const inspect = new Redis(env.SESSION_STORE);
          const ttl = await inspect.pttl(`dwanon:session:${url.split("/").pop()}:lease`);
          inspect.disconnect();
          expect(ttl).toBeGreaterThan(0);
          expect(ttl).toBeLessThanOrEqual(30_000);
        }
        open();
        const results = await Promise.all(commits);
        const statuses = results.map((r) => r.status).sort();
        const received = countBy(dest.calls.flat());
        console.log(
          `${store}: 4 parallel commits -> statuses ${statuses.join(",")}; destination requests ${dest.calls.length}, receipts per instance ${[...received.values()].join(",")}`,
        );
        expect(statuses).toEqual([200, 409, 409, 409]);
        for (const r of [...results.filter((x) => x.status === 409), ...racing]) {
          expect(r.status).toBe(409);
          expect(r.headers.get("content-type")).toMatch(/^application\/problem\+json/);
          expect(r.json.detail).toMatch(/in progress/);
        }
        expect(dest.calls).toHaveLength(1);
        expect(received.size).toBe(3);
        expect([...received.values()]).toEqual([1, 1, 1]);
        const session = (await (await fetch(url)).json()) as Json;
        expect(session.state).toBe("committed");
        expect(session.profile.name).toBe("hipaa");
        if (env.SESSION_STORE) {
          // What a committed session still holds: the de-identified copies and an audit without
          // before values; no original, no original value.
          const inspect = new Redis(env.SESSION_STORE);
          const keys = await inspect.keys(`dwanon:session:${url.split("/").pop()}:blob:*`);
          const held = await Promise.all(keys.map(async (k) => (await inspect.getBuffer(k))!));
          inspect.disconnect();
          expect(keys).toHaveLength(4);
          for (const data of held) expect(data.includes('"before"')).toBe(false);
          const originals = distinctInstances("mr-small-implicit-le.dcm", 3);
          for (const data of held) for (const o of originals) expect(data.equals(o)).toBe(false);
        }
        // Committed: another commit sends nothing.
        expect((await post(`${url}/commit?destination=default`)).status).toBe(409);
        expect(dest.calls).toHaveLength(1);
      } finally {
        await t.app.close();
        await dest.close();
      }
    });

    it("a retry after a partial STOW sends only what the destination did not acknowledge", async () => {
      const dest = await fakeDestination();
      const t = await testApp(storeEnv({ DESTINATION_STOW_URL: dest.url }));
      try {
        const base = await listen(t);
        const url = await appliedSession(base, 4);
        let refused = "";
        // The first request: the destination refuses one instance (the second it lists).
        dest.accept = (uid, call) => {
          if (call === 0 && !refused && dest.calls[0]!.indexOf(uid) === 1) refused = uid;
          return call > 0 || uid !== refused;
        };
        const first = await post(`${url}/commit?destination=default`);
        expect(first.status).toBe(202);
        expect(first.json["00081199"].Value).toHaveLength(3);
        expect(first.json["00081198"].Value).toHaveLength(1);
        const partial = (await (await fetch(url)).json()) as Json;
        expect(partial.state).toBe("applied");
        expect(partial.instances.filter((i: Json) => i.acknowledged)).toHaveLength(3);
        // The session cannot change under what was sent.
        expect((await post(`${url}/apply?profile=basic`)).status).toBe(409);

        const retry = await post(`${url}/commit?destination=default`);
        expect(retry.status).toBe(200);
        expect(retry.json["00081199"].Value).toHaveLength(4);
        expect(retry.json["00081198"]).toBeUndefined();
        console.log(
          `${store}: partial STOW then retry -> instances per destination request ${dest.calls.map((c) => c.length).join(",")}`,
        );
        expect(dest.calls).toHaveLength(2);
        expect(dest.calls[1]).toEqual([refused]);
        // Each instance was acknowledged once: the refused one was sent twice, the others once.
        const receipts = countBy(dest.calls.flat());
        expect(receipts.size).toBe(4);
        for (const [uid, n] of receipts) expect(n, uid).toBe(uid === refused ? 2 : 1);
        expect(((await (await fetch(url)).json()) as Json).state).toBe("committed");
      } finally {
        await t.app.close();
        await dest.close();
      }
    });

    it("apply keeps originals plus staged copies within MAX_SESSION_BYTES (413), the store within MAX_STORE_BYTES (507)", async () => {
      const CT = corpusFile("ct-implicit-le-ge.dcm"); // 530,626 bytes; its staged copy about as much
      for (const [env, status] of [
        [{ MAX_SESSION_BYTES: "800KiB" }, 413],
        [{ MAX_STORE_BYTES: "800KiB" }, 507],
      ] as const) {
        const t = await testApp(storeEnv(env));
        try {
          const created = await t.app.inject({
            method: "POST",
            url: "/sessions",
            payload: CT,
            headers: dicom,
          });
          expect(created.statusCode).toBe(201);
          const url = `/sessions/${created.json().id}`;
          const applied = await t.app.inject({ method: "POST", url: `${url}/apply?profile=hipaa` });
          expect(applied.statusCode).toBe(status);
          expect(applied.headers["content-type"]).toMatch(/^application\/problem\+json/);
          expect(applied.json().detail).toMatch(status === 413 ? /MAX_SESSION_BYTES/ : /MAX_STORE_BYTES/);
          // Nothing half-applied: the session is as it was.
          const session = (await t.app.inject({ url })).json();
          expect(session).toMatchObject({ state: "open", profile: null, bytes: CT.length, stagedBytes: 0 });
          expect((await t.app.inject({ url: `${url}/instances/0?version=staged` })).statusCode).toBe(404);
          expect((await t.app.inject({ method: "POST", url: `${url}/commit` })).statusCode).toBe(409);
        } finally {
          await t.app.close();
        }
      }
    });
  });
}
