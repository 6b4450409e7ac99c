/** A session previewed and applied under a custom profile sent as the JSON body (the review page's editor). */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { corpusFile } from "../helpers/corpus.js";
import { testApp, type TestApp } from "../helpers/app.js";

let t: TestApp;
beforeAll(async () => {
  t = await testApp();
});
afterAll(async () => t.app.close());

const json = { "content-type": "application/json" };

describe("custom profiles on a session", () => {
  it("POST preview and apply take a custom profile; an invalid one is a 400 naming the path", async () => {
    const created = await t.app.inject({
      method: "POST",
      url: "/sessions",
      payload: corpusFile("ct-explicit-le-ge-small.dcm"),
      headers: { "content-type": "application/dicom" },
    });
    const url = `/sessions/${created.json().id}`;
    const custom = {
      name: "keep-institution",
      description: "basic, keeping the institution name",
      version: "1.0.0",
      extends: "basic",
      rules: [{ tag: "(0008,0080)", action: "keep" }],
    };
    const basic = (await t.app.inject({ url: `${url}/preview?profile=basic` })).json();
    const res = await t.app.inject({ method: "POST", url: `${url}/preview`, payload: custom, headers: json });
    expect(res.statusCode, res.body).toBe(200);
    const described = (a: { instances: Array<{ changes: Array<{ tag: string }> }> }) =>
      a.instances[0]!.changes.some((c) => c.tag === "00080080");
    expect(described(basic)).toBe(true);
    expect(described(res.json())).toBe(false);

    const bad = await t.app.inject({
      method: "POST",
      url: `${url}/preview`,
      payload: { ...custom, rules: [{ tag: "(0008,0080)", action: "SECRET-VALUE" }] },
      headers: json,
    });
    expect(bad.statusCode).toBe(400);
    expect(bad.headers["content-type"]).toMatch(/^application\/problem\+json/);
    expect(bad.json().detail).toMatch(/^invalid custom profile: \$\.rules\[0\]/);
    expect(bad.body).not.toContain("SECRET-VALUE");

    const both = await t.app.inject({
      method: "POST",
      url: `${url}/preview?profile=basic`,
      payload: custom,
      headers: json,
    });
    expect(both.statusCode).toBe(400);

    const applied = await t.app.inject({
      method: "POST",
      url: `${url}/apply`,
      payload: custom,
      headers: json,
    });
    expect(applied.statusCode, applied.body).toBe(200);
    expect(described(applied.json().audit)).toBe(false);
    expect(applied.json().session.state).toBe("applied");
  });
});
