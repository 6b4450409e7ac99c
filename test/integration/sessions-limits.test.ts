/** Session expiry, byte limits, token scoping, and memory returning to its baseline after DELETE. */
import v8 from "node:v8";
import vm from "node:vm";
import { afterAll, describe, expect, it } from "vitest";
import { corpusFile } from "../helpers/corpus.js";
import { testApp, type TestApp } from "../helpers/app.js";

const MR = corpusFile("mr-small-implicit-le.dcm");
const CT = corpusFile("ct-implicit-le-ge.dcm");
const dicom = { "content-type": "application/dicom" };
const apps: TestApp[] = [];
afterAll(async () => Promise.all(apps.map((a) => a.app.close())));
async function app(env: Record<string, string>): Promise<TestApp> {
  const t = await testApp(env);
  apps.push(t);
  return t;
}

describe("session limits", () => {
  it("expire after SESSION_TTL_SECONDS", async () => {
    const t = await app({ SESSION_TTL_SECONDS: "1" });
    const { id } = (
      await t.app.inject({ method: "POST", url: "/sessions", payload: MR, headers: dicom })
    ).json();
    expect((await t.app.inject({ url: `/sessions/${id}` })).statusCode).toBe(200);
    await new Promise((r) => setTimeout(r, 1300));
    expect((await t.app.inject({ url: `/sessions/${id}` })).statusCode).toBe(404);
  });

  it("a session past MAX_SESSION_BYTES is a 413; the store past MAX_STORE_BYTES a 507", async () => {
    const t = await app({ MAX_SESSION_BYTES: "600KiB", MAX_STORE_BYTES: "1100KiB" });
    const first = (
      await t.app.inject({ method: "POST", url: "/sessions", payload: CT, headers: dicom })
    ).json();
    const more = await t.app.inject({
      method: "POST",
      url: `/sessions/${first.id}/instances`,
      payload: CT,
      headers: dicom,
    });
    expect(more.statusCode).toBe(413);
    expect(more.json().detail).toMatch(/MAX_SESSION_BYTES/);
    const second = await t.app.inject({ method: "POST", url: "/sessions", payload: CT, headers: dicom });
    expect(second.statusCode).toBe(201);
    const third = await t.app.inject({ method: "POST", url: "/sessions", payload: CT, headers: dicom });
    expect(third.statusCode).toBe(507);
    expect(third.headers["content-type"]).toMatch(/problem\+json/);
    // Deleting frees room.
    await t.app.inject({ method: "DELETE", url: `/sessions/${first.id}` });
    expect(
      (await t.app.inject({ method: "POST", url: "/sessions", payload: CT, headers: dicom })).statusCode,
    ).toBe(201);
  });

  it("with API_TOKENS, a session is visible only to the token that created it", async () => {
    const a = "token-a-0123456789abcdef";
    const b = "token-b-0123456789abcdef";
    const t = await app({ API_TOKENS: `${a},${b}` });
    const noToken = await t.app.inject({ method: "POST", url: "/sessions", payload: MR, headers: dicom });
    expect(noToken.statusCode).toBe(401);
    expect(noToken.headers["www-authenticate"]).toMatch(/^Bearer/);
    const wrong = await t.app.inject({
      method: "POST",
      url: "/anonymize",
      payload: MR,
      headers: { ...dicom, authorization: "Bearer not-a-token-at-all" },
    });
    expect(wrong.statusCode).toBe(401);
    const created = await t.app.inject({
      method: "POST",
      url: "/sessions",
      payload: MR,
      headers: { ...dicom, authorization: `Bearer ${a}` },
    });
    expect(created.statusCode).toBe(201);
    const url = `/sessions/${created.json().id}`;
    expect((await t.app.inject({ url, headers: { authorization: `Bearer ${a}` } })).statusCode).toBe(200);
    for (const op of [
      { method: "GET" as const, url },
      { method: "POST" as const, url: `${url}/apply` },
      { method: "DELETE" as const, url },
    ]) {
      expect((await t.app.inject({ ...op, headers: { authorization: `Bearer ${b}` } })).statusCode).toBe(404);
    }
    expect((await t.app.inject({ url })).statusCode).toBe(401);
    expect((await t.app.inject({ url: "/healthz" })).statusCode).toBe(200); // health stays open
    expect(
      (
        await t.app.inject({
          method: "POST",
          url: "/anonymize",
          payload: MR,
          headers: { ...dicom, authorization: `Bearer ${b}` },
        })
      ).statusCode,
    ).toBe(200);
  });
});

describe("readiness", () => {
  it("is 503 while the Redis session store does not answer", async () => {
    const t = await app({ SESSION_STORE: "redis://127.0.0.1:1" });
    const res = await t.app.inject({ url: "/readyz" });
    expect(res.statusCode).toBe(503);
    expect(res.json()).toMatchObject({ status: "not ready", sessionStore: "down" });
    expect((await t.app.inject({ url: "/healthz" })).statusCode).toBe(200);
  });
});

describe("memory", () => {
  it("returns to its baseline after sessions are deleted (in-memory store)", async () => {
    v8.setFlagsFromString("--expose-gc");
    const gc = vm.runInNewContext("gc") as () => void;
    const t = await app({});
    const settle = async () => {
      for (let i = 0; i < 3; i++) {
        gc();
        await new Promise((r) => setTimeout(r, 20));
      }
      // external: Buffer memory, including buffers moved in from worker threads.
      return process.memoryUsage().external;
    };
    // Warm up once (JIT, pools), then measure.
    const warm = (
      await t.app.inject({ method: "POST", url: "/sessions", payload: CT, headers: dicom })
    ).json();
    await t.app.inject({ method: "DELETE", url: `/sessions/${warm.id}` });
    const baseline = await settle();
    const ids: string[] = [];
    for (let i = 0; i < 40; i++) {
      const { id } = (
        await t.app.inject({ method: "POST", url: "/sessions", payload: CT, headers: dicom })
      ).json();
      expect(
        (await t.app.inject({ method: "POST", url: `/sessions/${id}/apply?profile=hipaa` })).statusCode,
      ).toBe(200);
      ids.push(id);
    }
    const loaded = await settle();
    for (const id of ids) await t.app.inject({ method: "DELETE", url: `/sessions/${id}` });
    const after = await settle();
    const mb = (n: number) => (n / 1048576).toFixed(1);
    console.log(
      `session memory: baseline ${mb(baseline)} MB, 40 sessions (originals + staged) ${mb(loaded)} MB, after DELETE ${mb(after)} MB`,
    );
    expect(loaded - baseline).toBeGreaterThan(30 * 1048576); // 40 x (530 KB + 526 KB) really were held
    expect(after - baseline).toBeLessThan(5 * 1048576);
  });
});
