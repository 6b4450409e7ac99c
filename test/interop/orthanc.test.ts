/**
 * Real peers: Orthanc with its DICOMweb plugin. Scenario 1, service -> PACS; scenario 2, router
 * (Orthanc) -> service -> PACS; scenario 3, the PACS is down, then back. The STOW response is checked
 * against PS3.18 Annex I (tags, VRs, codes).
 */
import type { ChildProcess } from "node:child_process";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { readPart10 } from "../../src/dicom/part10.js";
import { multipart, splitMultipart } from "../helpers/app.js";
import { readWithDcmjs } from "../helpers/dicom.js";
import { orthanc, orthancAvailable, type OrthancServer } from "../helpers/orthanc.js";
import { seedStudy } from "../helpers/seed.js";
import { startService as startServiceProcess } from "../helpers/service.js";
import { requireTool } from "../helpers/tools.js";

const HAVE_ORTHANC = requireTool("Orthanc", "orthanc orthanc-dicomweb") && orthancAvailable();
const STUDY = seedStudy();

type Json = Record<
  string,
  { vr: string; Value?: Array<Record<string, { vr: string; Value?: unknown[] }>> | unknown[] }
>;

const startService = (env: Record<string, string>) =>
  startServiceProcess({ UID_SECRET: "interop", DESTINATION_TIMEOUT_MS: "5000", ...env });

async function stow(
  base: string,
  route: string,
  instances: Buffer[],
): Promise<{ status: number; json: Json; location: string | null }> {
  const body = multipart(instances.map((data) => ({ type: "application/dicom", data })));
  const r = await fetch(`${base}${route}`, {
    method: "POST",
    body: new Uint8Array(body),
    headers: {
      "content-type": 'multipart/related; type="application/dicom"; boundary=test-boundary-1234',
      accept: "application/dicom+json",
    },
  });
  expect(r.headers.get("content-type")).toMatch(/^application\/dicom\+json/);
  return { status: r.status, json: (await r.json()) as Json, location: r.headers.get("location") };
}

/** PS3.18 Annex I: the response's attributes, VRs and codes. */
function checkStowResponse(json: Json, stored: number, failed: number): void {
  const referenced = (json["00081199"]?.Value ?? []) as Array<
    Record<string, { vr: string; Value?: unknown[] }>
  >;
  const failures = (json["00081198"]?.Value ?? []) as Array<
    Record<string, { vr: string; Value?: unknown[] }>
  >;
  expect(json["00081199"]?.vr).toBe("SQ");
  expect(referenced).toHaveLength(stored);
  expect(failures).toHaveLength(failed);
  if (failed > 0) expect(json["00081198"]?.vr).toBe("SQ");
  for (const item of [...referenced, ...failures]) {
    expect(item["00081150"]?.vr).toBe("UI");
    expect(item["00081155"]?.vr).toBe("UI");
  }
  for (const item of referenced) if (item["00081190"]) expect(item["00081190"].vr).toBe("UR");
  for (const item of failures) {
    expect(item["00081197"]?.vr).toBe("US");
    expect([0x0110, 0xa700, 0xa900, 0xc000]).toContain(item["00081197"]?.Value?.[0]);
  }
  if (json["00081190"]) expect(json["00081190"].vr).toBe("UR");
}

interface Tags {
  [keyword: string]: string | undefined;
}

/** What Orthanc stored, de-identified as hipaa says, with the study's structure intact. */
async function checkStoredStudy(pacs: OrthancServer): Promise<void> {
  const instances = await pacs.get<string[]>("/instances");
  expect(instances).toHaveLength(3);
  expect(await pacs.get<string[]>("/studies")).toHaveLength(1);
  const series = await pacs.get<string[]>("/series");
  expect(series).toHaveLength(2);
  const sizes = await Promise.all(
    series.map(async (s) => (await pacs.get<{ Instances: string[] }>(`/series/${s}`)).Instances.length),
  );
  expect(sizes.sort()).toEqual([1, 2]);
  const originalPixels = Buffer.from(readPart10(STUDY[0]!).dataset.find((e) => e.tag === 0x7fe00010)!.value!);
  for (const id of instances) {
    const tags = await pacs.get<Tags>(`/instances/${id}/simplified-tags`);
    expect(tags.PatientAge).toBe("089Y");
    expect(tags.DeviceSerialNumber).toBeUndefined();
    expect(tags.InstitutionAddress).toBeUndefined();
    expect(tags.PatientName).toBe("ANON");
    expect(tags.StudyInstanceUID).toMatch(/^2\.25\./);
    expect(tags.SeriesInstanceUID).toMatch(/^2\.25\./);
    expect(tags.SOPInstanceUID).toMatch(/^2\.25\./);
    const file = Buffer.from(await (await fetch(`${pacs.base}/instances/${id}/file`)).arrayBuffer());
    const pixels = Buffer.from(readPart10(file).dataset.find((e) => e.tag === 0x7fe00010)!.value!);
    expect(pixels.equals(originalPixels)).toBe(true);
  }
}

describe.runIf(HAVE_ORTHANC)("interop with Orthanc", () => {
  const children: ChildProcess[] = [];
  const pacsList: OrthancServer[] = [];
  afterAll(async () => {
    for (const c of children) c.kill("SIGTERM");
    for (const p of pacsList) await p.stop();
  });

  it("scenario 1: the service de-identifies and forwards a study to the PACS", async () => {
    const pacs = orthanc("pacs1");
    pacsList.push(pacs);
    await pacs.start();
    const service = await startService({ DESTINATION_STOW_URL: pacs.stowUrl });
    children.push(service.child);
    const r = await stow(service.base, "/dicomweb/studies", STUDY);
    expect(r.status).toBe(200);
    checkStowResponse(r.json, 3, 0);
    await checkStoredStudy(pacs);
    // A study-level POST with another study's instance fails that instance (A900), as PS3.18 says.
    const wrong = await stow(service.base, "/dicomweb/studies/1.2.3.4.5", [STUDY[0]!]);
    expect(wrong.status).toBe(409);
    checkStowResponse(wrong.json, 0, 1);
    expect(
      (wrong.json["00081198"]!.Value as Array<Record<string, { Value?: unknown[] }>>)[0]!["00081197"]!
        .Value![0],
    ).toBe(0xa900);
  });

  describe("scenario 2: router (Orthanc) -> service -> PACS", () => {
    let router: OrthancServer;
    let pacs: OrthancServer;
    beforeAll(async () => {
      pacs = orthanc("pacs2");
      pacsList.push(pacs);
      await pacs.start();
      const service = await startService({ DESTINATION_STOW_URL: pacs.stowUrl });
      children.push(service.child);
      router = orthanc("router", { anonymizer: `${service.base}/dicomweb/profiles/hipaa/` });
      pacsList.push(router);
      await router.start();
    }, 60_000);

    it("the router's STOW to the service lands de-identified in the PACS", async () => {
      for (const instance of STUDY) {
        const up = await fetch(`${router.base}/instances`, {
          method: "POST",
          body: new Uint8Array(instance),
        });
        expect(up.status).toBe(200);
      }
      const [studyId] = await router.get<string[]>("/studies");
      const sent = await router.post<unknown>("/dicom-web/servers/anonymizer/stow", { Resources: [studyId] });
      expect(sent.status).toBe(200);
      await checkStoredStudy(pacs);
    });
  });

  it("scenario 3: the PACS is down; nothing is lost; commit retries once it is back", async () => {
    const pacs = orthanc("pacs3");
    pacsList.push(pacs);
    await pacs.start();
    const stowUrl = pacs.stowUrl;
    await pacs.stop();
    const service = await startService({ DESTINATION_STOW_URL: stowUrl });
    children.push(service.child);

    const r = await stow(service.base, "/dicomweb/studies", STUDY);
    expect(r.status).toBe(409);
    checkStowResponse(r.json, 0, 3);
    expect(r.location).toMatch(/^\/sessions\/[A-Za-z0-9_-]+$/);
    const session = (await (await fetch(`${service.base}${r.location}`)).json()) as {
      state: string;
      instances: unknown[];
    };
    expect(session).toMatchObject({ state: "applied" });
    expect(session.instances).toHaveLength(3);
    // The kept instances can be pulled by any DICOMweb client meanwhile (WADO-RS).
    const retrieveURL = (r.json["00081190"]!.Value as string[])[0]!;
    const wado = await fetch(retrieveURL, {
      headers: { accept: 'multipart/related; type="application/dicom"' },
    });
    expect(wado.status).toBe(200);
    expect(wado.headers.get("content-type")).toMatch(/^multipart\/related; type="application\/dicom"/);

    // Still down: commit says so and keeps the session.
    expect(
      (await fetch(`${service.base}${r.location}/commit?destination=default`, { method: "POST" })).status,
    ).toBe(502);

    await pacs.start();
    const commit = await fetch(`${service.base}${r.location}/commit?destination=default`, { method: "POST" });
    expect(commit.status).toBe(200);
    checkStowResponse((await commit.json()) as Json, 3, 0);
    await checkStoredStudy(pacs);
    expect(((await (await fetch(`${service.base}${r.location}`)).json()) as { state: string }).state).toBe(
      "committed",
    );
    // Committing again sends nothing twice.
    expect(
      (await fetch(`${service.base}${r.location}/commit?destination=default`, { method: "POST" })).status,
    ).toBe(409);
    expect(await pacs.get<string[]>("/instances")).toHaveLength(3);
  });
  it("scenario 4: 4 concurrent commits to the PACS: one forwards, the others get 409, each instance arrives once", async () => {
    const pacs = orthanc("pacs4");
    pacsList.push(pacs);
    await pacs.start();
    // Between the service and Orthanc, a pass-through proxy that counts the instances of every
    // STOW-RS request (read with dcmjs) and holds each request 300 ms, so the commits overlap.
    const receipts: string[] = [];
    const target = new URL(pacs.stowUrl);
    const proxy = http.createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on("data", (c: Buffer) => chunks.push(c));
      req.on("end", async () => {
        const body = Buffer.concat(chunks);
        for (const part of splitMultipart(body, req.headers["content-type"]!))
          receipts.push(readWithDcmjs(part.data).dict["00080018"]!.Value![0] as string);
        await new Promise((r) => setTimeout(r, 300));
        const forwarded = await fetch(target, {
          method: "POST",
          body: new Uint8Array(body),
          headers: { "content-type": req.headers["content-type"]!, accept: "application/dicom+json" },
        });
        res.writeHead(forwarded.status, { "content-type": forwarded.headers.get("content-type") ?? "" });
        res.end(Buffer.from(await forwarded.arrayBuffer()));
      });
    });
    await new Promise<void>((r) => proxy.listen(0, "127.0.0.1", r));
    try {
      const service = await startService({
        DESTINATION_STOW_URL: `http://127.0.0.1:${(proxy.address() as AddressInfo).port}/dicom-web/studies`,
      });
      children.push(service.child);
      const created = await fetch(`${service.base}/sessions`, {
        method: "POST",
        body: new Uint8Array(multipart(STUDY.map((data) => ({ type: "application/dicom", data })))),
        headers: {
          "content-type": 'multipart/related; type="application/dicom"; boundary=test-boundary-1234',
        },
      });
      expect(created.status).toBe(201);
      const url = `${service.base}/sessions/${((await created.json()) as { id: string }).id}`;
      expect((await fetch(`${url}/apply?profile=hipaa`, { method: "POST" })).status).toBe(200);

      const commits = await Promise.all(
        Array.from({ length: 4 }, () => fetch(`${url}/commit?destination=default`, { method: "POST" })),
      );
      const statuses = commits.map((c) => c.status).sort();
      const perInstance = new Map<string, number>();
      for (const uid of receipts) perInstance.set(uid, (perInstance.get(uid) ?? 0) + 1);
      console.log(
        `Orthanc: 4 concurrent commits -> ${statuses.join(",")}; instances received ${receipts.length} (per instance ${[...perInstance.values()].join(",")})`,
      );
      expect(statuses).toEqual([200, 409, 409, 409]);
      for (const c of commits.filter((x) => x.status === 409))
        expect(c.headers.get("content-type")).toMatch(/^application\/problem\+json/);
      expect(receipts).toHaveLength(3);
      expect([...perInstance.values()]).toEqual([1, 1, 1]);
      await checkStoredStudy(pacs);
      expect(((await (await fetch(url)).json()) as { state: string }).state).toBe("committed");
    } finally {
      await new Promise((r) => proxy.close(r));
    }
  });
});
