/** The other routes, the contract (openapi.yaml) against the served routes, and the no-PHI canary. */
import fs from "node:fs";
import path from "node:path";
import { Validator } from "@seriousme/openapi-schema-validator";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import YAML from "yaml";
import { instance, leaf, seq } from "../helpers/build.js";
import { ROOT } from "../helpers/corpus.js";
import { multipart, splitMultipart, testApp, type TestApp } from "../helpers/app.js";

let t: TestApp;
beforeAll(async () => {
  t = await testApp();
});
afterAll(async () => t.app.close());

const spec = YAML.parse(fs.readFileSync(path.join(ROOT, "openapi.yaml"), "utf8"));

describe("the API contract", () => {
  it("openapi.yaml is a valid OpenAPI 3.1 document", async () => {
    const result = await new Validator().validate(spec);
    expect(result.errors ?? []).toEqual([]);
    expect(result.valid).toBe(true);
  });

  it("the served routes and the documented paths are the same set", () => {
    const served = t.app.servedRoutes.map((r) => `${r.method} ${r.url.replace(/:(\w+)/g, "{$1}")}`).sort();
    const documented = Object.entries(spec.paths as Record<string, Record<string, unknown>>)
      .flatMap(([p, ops]) =>
        Object.keys(ops)
          .filter((m) => ["get", "post", "put", "patch", "delete"].includes(m))
          .map((m) => `${m.toUpperCase()} ${p}`),
      )
      .sort();
    expect(served).toEqual(documented);
  });

  it("GET /openapi.yaml serves the contract and /docs renders it", async () => {
    const yaml = await t.app.inject({ url: "/openapi.yaml" });
    expect(yaml.statusCode).toBe(200);
    expect(YAML.parse(yaml.body).openapi).toBe("3.1.0");
    const docs = await t.app.inject({ url: "/docs" });
    expect(docs.statusCode).toBe(200);
    expect(docs.headers["content-type"]).toMatch(/^text\/html/);
    // Swagger UI from the package, nothing from elsewhere (test/e2e/docs.test.ts renders it).
    expect(docs.body).toContain('src="/docs/static/swagger-ui-bundle.js"');
    expect(docs.headers["content-security-policy"]).toMatch(/default-src 'self'/);
    expect(docs.headers["content-security-policy"]).not.toMatch(/https:|upgrade-insecure-requests/);
    expect(docs.body).not.toMatch(/(src|href)="https?:/);
    const bundle = await t.app.inject({ url: "/docs/static/swagger-ui-bundle.js" });
    expect(bundle.statusCode).toBe(200);
    const served = await t.app.inject({ url: "/docs/json" });
    expect(Object.keys(served.json().paths)).toEqual(Object.keys(spec.paths));
  });
});

describe("profiles, health and metrics", () => {
  it("GET /profiles lists both profiles with different rule counts", async () => {
    const res = await t.app.inject({ url: "/profiles" });
    const { profiles, default: def } = res.json();
    expect(def).toBe("hipaa");
    const basic = profiles.find((p: { name: string }) => p.name === "basic");
    const hipaa = profiles.find((p: { name: string }) => p.name === "hipaa");
    expect(basic.ruleCount).not.toBe(hipaa.ruleCount);
    expect(hipaa).toMatchObject({
      extends: "basic",
      options: ["cleanDescriptors", "retainPatientCharacteristics"],
    });
  });

  it("GET /profiles/{name} gives the compiled rules; unknown names are 404", async () => {
    const res = await t.app.inject({ url: "/profiles/hipaa" });
    expect(res.statusCode).toBe(200);
    const body = res.json();
    expect(body.rules.find((r: { tag?: string }) => r.tag === "(0010,1010)")).toMatchObject({
      keyword: "PatientAge",
      action: "capAge",
      maxYears: 89,
    });
    expect(body.rules.find((r: { tag?: string }) => r.tag === "(0018,1000)")).toMatchObject({
      action: "remove",
    });
    expect(body.methodCodes.map((m: { code: string }) => m.code)).toEqual(["113100", "113105", "113108"]);
    expect((await t.app.inject({ url: "/profiles/nope" })).statusCode).toBe(404);
  });

  it("health, readiness, metrics, and problem+json for unknown routes", async () => {
    expect((await t.app.inject({ url: "/healthz" })).json()).toEqual({ status: "ok" });
    const ready = await t.app.inject({ url: "/readyz" });
    expect(ready.statusCode).toBe(200);
    expect(ready.json()).toMatchObject({ status: "ready", workers: 2 });
    // The detector pool starts no thread before a profile that runs the detector needs one.
    expect(ready.json().detector).toEqual({ threads: 2, running: 0, queued: 0 });
    const missing = await t.app.inject({ url: "/nope/1.2.3.4" });
    expect(missing.statusCode).toBe(404);
    expect(missing.headers["content-type"]).toMatch(/problem\+json/);
    const metrics = await t.app.inject({ url: "/metrics" });
    expect(metrics.body).toContain('dwanon_http_requests_total{route="/healthz",method="GET",status="200"}');
  });
});

describe("no PHI in logs, error bodies or metrics", () => {
  const MARKERS = ["ZZMARKER", "ZZ0042", "ZZSECRET", "ZZSTREET", "1.2.826.0.1.999.4242"];
  const phi = () => [
    leaf(0x00100010, "PN", "ZZMARKER^PATIENT"),
    leaf(0x00100020, "LO", "ZZ0042"),
    leaf(0x00101001, "PN", "ZZSECRET^OTHER"),
    leaf(0x00101040, "LO", "1 ZZSTREET Road"),
    leaf(0x0020000d, "UI", "1.2.826.0.1.999.4242"),
  ];

  it("sends marker PHI through success and every kind of failure; no marker comes back out", async () => {
    const good = instance(phi(), "1.2.840.10008.1.2.1", "1.2.826.0.1.999.4242.1");
    const burned = instance(
      [...phi(), leaf(0x00280301, "CS", "YES")],
      "1.2.840.10008.1.2.1",
      "1.2.826.0.1.999.4242.2",
    );
    const truncated = good.subarray(0, good.length - 40);
    const badCharset = instance([leaf(0x00080005, "CS", "ZZMARKER"), ...phi()]);
    const uidReused = instance([...phi(), seq(0x00283010, [leaf(0x00080100, "SH", "1.2.826.0.1.999.4242")])]);
    const bodies: string[] = [];
    for (const data of [good, burned, truncated, badCharset, uidReused]) {
      const res = await t.app.inject({
        method: "POST",
        url: "/anonymize?profile=hipaa",
        payload: data,
        headers: { "content-type": "application/dicom" },
      });
      const parts = res.headers["content-type"]?.toString().startsWith("multipart")
        ? splitMultipart(res.rawPayload, res.headers["content-type"] as string)
        : [];
      bodies.push(parts.length > 0 ? parts[0]!.data.toString() : res.body); // the audit, or the problem body
    }
    const batch = multipart([good, burned, truncated].map((data) => ({ type: "application/dicom", data })));
    const res = await t.app.inject({
      method: "POST",
      url: "/anonymize",
      payload: batch,
      headers: { "content-type": 'multipart/related; type="application/dicom"; boundary=test-boundary-1234' },
    });
    bodies.push(splitMultipart(res.rawPayload, res.headers["content-type"] as string)[0]!.data.toString());
    const metrics = (await t.app.inject({ url: "/metrics" })).body;
    const everything = [...t.logs, ...bodies, metrics].join("\n");
    expect(t.logs.some((l) => l.includes('"route":"/anonymize"'))).toBe(true); // the log is really captured
    expect(bodies.some((b) => b.includes("failed"))).toBe(true);
    for (const marker of MARKERS) expect(everything).not.toContain(marker);
  });
});
