/** STOW-RS without a destination (the study waits in a session), its errors, and WADO-RS of a session. */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { multipart, splitMultipart, testApp, type TestApp } from "../helpers/app.js";
import { corpusFile } from "../helpers/corpus.js";
import { seedStudy } from "../helpers/seed.js";

let t: TestApp;
beforeAll(async () => {
  t = await testApp();
});
afterAll(async () => t.app.close());

const related = {
  "content-type": 'multipart/related; type="application/dicom"; boundary=test-boundary-1234',
};
const body = (instances: Buffer[]) =>
  multipart(instances.map((data) => ({ type: "application/dicom", data })));
type Item = Record<string, { vr: string; Value?: unknown[] }>;

describe("STOW-RS without a destination", () => {
  it("stages the study in a session (Location), lists what was stored and what failed", async () => {
    const study = seedStudy();
    const res = await t.app.inject({
      method: "POST",
      url: "/dicomweb/profiles/hipaa/studies",
      payload: body([...study, Buffer.from("not dicom")]),
      headers: related,
    });
    expect(res.statusCode).toBe(202);
    expect(res.headers["content-type"]).toMatch(/^application\/dicom\+json/);
    const json = res.json() as Record<string, { Value: Item[] }>;
    expect(json["00081199"]!.Value).toHaveLength(3);
    expect(json["00081198"]!.Value.map((i) => i["00081197"]!.Value![0])).toEqual([0xc000]);
    const location = res.headers.location as string;
    expect(location).toMatch(/^\/sessions\//);

    // Review as any session: apply, then pull the de-identified study over WADO-RS.
    const applied = (await t.app.inject({ method: "POST", url: `${location}/apply?profile=hipaa` })).json();
    const newStudy = applied.audit.instances[0].changes.find(
      (c: { keyword: string }) => c.keyword === "StudyInstanceUID",
    ).after;
    const id = location.split("/").pop();
    const wado = await t.app.inject({
      url: `/dicomweb/sessions/${id}/studies/${newStudy}`,
      headers: { accept: 'multipart/related; type="application/dicom"' },
    });
    expect(wado.statusCode).toBe(200);
    expect(splitMultipart(wado.rawPayload, wado.headers["content-type"] as string)).toHaveLength(3);
    expect((await t.app.inject({ url: `/dicomweb/sessions/${id}/studies/1.2.3` })).statusCode).toBe(404);
    expect(
      (
        await t.app.inject({
          url: `/dicomweb/sessions/${id}/studies/${newStudy}`,
          headers: { accept: "application/pdf" },
        })
      ).statusCode,
    ).toBe(406);
  });

  it("a study-level POST fails instances of another study with A900; none stored is a 409", async () => {
    const res = await t.app.inject({
      method: "POST",
      url: "/dicomweb/studies/1.2.3.4",
      payload: body([corpusFile("mr-small-implicit-le.dcm")]),
      headers: related,
    });
    expect(res.statusCode).toBe(409);
    expect((res.json()["00081198"].Value as Item[])[0]!["00081197"]!.Value![0]).toBe(0xa900);
  });

  it.each([
    ["not multipart/related", { "content-type": "application/dicom" }, 415],
    ["XML wanted", { ...related, accept: "application/dicom+xml" }, 406],
  ])("%s -> %i", async (_name, headers, status) => {
    const res = await t.app.inject({
      method: "POST",
      url: "/dicomweb/studies",
      payload: body([corpusFile("mr-small-implicit-le.dcm")]),
      headers,
    });
    expect(res.statusCode).toBe(status);
  });

  it("an unknown profile in the path is a 404; commit to an unknown destination too", async () => {
    expect(
      (
        await t.app.inject({
          method: "POST",
          url: "/dicomweb/profiles/nope/studies",
          payload: body([corpusFile("mr-small-implicit-le.dcm")]),
          headers: related,
        })
      ).statusCode,
    ).toBe(404);
    const created = await t.app.inject({
      method: "POST",
      url: "/sessions",
      payload: corpusFile("mr-small-implicit-le.dcm"),
      headers: { "content-type": "application/dicom" },
    });
    const url = created.headers.location as string;
    await t.app.inject({ method: "POST", url: `${url}/apply` });
    expect(
      (await t.app.inject({ method: "POST", url: `${url}/commit?destination=default` })).statusCode,
    ).toBe(404);
  });
});
