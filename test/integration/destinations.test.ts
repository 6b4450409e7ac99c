/**
 * Named destinations (DESTINATIONS, plus "default" from DESTINATION_STOW_URL) through the one
 * forwarding service: STOW-RS ?destination=NAME and commit?destination=NAME reach the named server
 * with its own auth header; an unknown name is a 404 that does not echo it; the auth header is
 * never logged or returned. Real local HTTP servers over real sockets record what arrives.
 */
import http from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { multipart, testApp, type TestApp } from "../helpers/app.js";
import { corpusFile } from "../helpers/corpus.js";

interface Received {
  readonly authorization: string | undefined;
  readonly bytes: number;
}

async function recordingDestination(): Promise<{
  url: string;
  received: Received[];
  close: () => void;
}> {
  const received: Received[] = [];
  const server = http.createServer((req, res) => {
    let bytes = 0;
    req.on("data", (c: Buffer) => (bytes += c.length));
    req.on("end", () => {
      received.push({ authorization: req.headers.authorization, bytes });
      // A 2xx without a Store Instances Response: everything sent counts as stored.
      res.writeHead(200).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/studies`,
    received,
    close: () => {
      server.closeAllConnections();
      server.close();
    },
  };
}

const SECRET = "Bearer trial-archive-s3cret-0123456789";
const related = {
  "content-type": 'multipart/related; type="application/dicom"; boundary=test-boundary-1234',
};
const stowBody = () =>
  multipart([{ type: "application/dicom", data: corpusFile("mr-small-implicit-le.dcm") }]);

let t: TestApp;
let fallback: Awaited<ReturnType<typeof recordingDestination>>;
let trial: Awaited<ReturnType<typeof recordingDestination>>;

beforeAll(async () => {
  fallback = await recordingDestination();
  trial = await recordingDestination();
  t = await testApp({
    DESTINATION_STOW_URL: fallback.url,
    DESTINATIONS: JSON.stringify({ trial: { url: trial.url, authHeader: `Authorization: ${SECRET}` } }),
  });
});
afterAll(async () => {
  await t?.app.close();
  fallback?.close();
  trial?.close();
});

describe("named destinations", () => {
  it("STOW-RS forwards to default without a name, to the named destination with ?destination=", async () => {
    const plain = await t.app.inject({
      method: "POST",
      url: "/dicomweb/studies",
      payload: stowBody(),
      headers: related,
    });
    expect(plain.statusCode).toBe(200);
    expect(fallback.received).toHaveLength(1);
    expect(fallback.received[0]!.authorization).toBeUndefined();
    expect(trial.received).toHaveLength(0);

    const named = await t.app.inject({
      method: "POST",
      url: "/dicomweb/studies?destination=trial",
      payload: stowBody(),
      headers: related,
    });
    expect(named.statusCode).toBe(200);
    expect(trial.received).toHaveLength(1);
    expect(trial.received[0]!.authorization).toBe(SECRET);
    expect(trial.received[0]!.bytes).toBeGreaterThan(1000);
    // The Retrieve URL points at the named destination.
    expect(named.body).toContain(trial.url.replace(/\/studies$/, ""));
    expect(fallback.received).toHaveLength(1);
  });

  it("an unknown destination is a 404 problem that does not echo the name", async () => {
    const marker = "no-such-destination-7f3a";
    const r = await t.app.inject({
      method: "POST",
      url: `/dicomweb/studies?destination=${marker}`,
      payload: stowBody(),
      headers: related,
    });
    expect(r.statusCode).toBe(404);
    expect(r.headers["content-type"]).toMatch(/application\/problem\+json/);
    expect(r.body).not.toContain(marker);
  });

  it("commit?destination=NAME forwards a session's staged instances there", async () => {
    const created = await t.app.inject({
      method: "POST",
      url: "/sessions",
      payload: corpusFile("mr-small-implicit-le.dcm"),
      headers: { "content-type": "application/dicom" },
    });
    expect(created.statusCode).toBe(201);
    const url = created.headers.location as string;
    expect((await t.app.inject({ method: "POST", url: `${url}/apply` })).statusCode).toBe(200);
    const before = trial.received.length;
    const commit = await t.app.inject({ method: "POST", url: `${url}/commit?destination=trial` });
    expect(commit.statusCode).toBe(200);
    expect(trial.received).toHaveLength(before + 1);
    expect(trial.received.at(-1)!.authorization).toBe(SECRET);
  });

  it("the auth header is never logged or returned", () => {
    const secretPart = SECRET.split(" ")[1]!;
    for (const line of t.logs) expect(line).not.toContain(secretPart);
  });
});
