/**
 * Hostile and broken requests through the HTTP API: UIDs that try to leave a zip's root, request
 * values that error bodies must not echo, malformed multipart bodies, clients that hang up mid-body.
 */
import { execFile, execFileSync } from "node:child_process";
import fs from "node:fs";
import http from "node:http";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CORPUS_DIR, corpusFile } from "../helpers/corpus.js";
import { multipart, testApp, type TestApp } from "../helpers/app.js";

let t: TestApp;
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "http-hostile-"));
// Made before the app starts: a synchronous child process would stall its event loop (503s).
const STD_PREFIX_TRAVERSAL = withSopInstanceUid(
  "mr-small-implicit-le.dcm",
  "1.2.840.10008.9/../../../escaped/pwned1",
);
const TRAVERSAL = withSopInstanceUid("mr-small-implicit-le.dcm", "1.2.3/../../escaped/pwned2");
beforeAll(async () => {
  t = await testApp();
});
afterAll(async () => {
  await t.app.close();
  fs.rmSync(tmp, { recursive: true, force: true });
});

const MR = corpusFile("mr-small-implicit-le.dcm");
const US = corpusFile("us-rgb-explicit-be.dcm");

/** A corpus file whose SOP Instance UID dcmodify sets to `uid` (it updates the meta copy too). */
function withSopInstanceUid(source: string, uid: string): Buffer {
  const file = path.join(tmp, `${path.basename(source)}-${Math.random().toString(36).slice(2)}.dcm`);
  fs.copyFileSync(path.join(CORPUS_DIR, source), file);
  execFileSync("dcmodify", ["-nb", "-q", "-m", `(0008,0018)=${uid}`, file]);
  return fs.readFileSync(file);
}

/** Entry names of a zip, read by Python's zipfile (not by our writer); async, not to stall the app. */
async function zipNames(zip: Buffer): Promise<string[]> {
  const file = path.join(tmp, `z-${Math.random().toString(36).slice(2)}.zip`);
  fs.writeFileSync(file, zip);
  const { stdout } = await promisify(execFile)("python3", [
    "-c",
    "import sys,zipfile; print('\\n'.join(zipfile.ZipFile(sys.argv[1]).namelist()))",
    file,
  ]);
  return stdout.trim().split("\n");
}

const KEEP_UIDS = JSON.stringify({
  name: "keep-uids",
  description: "",
  version: "1",
  extends: "basic",
  options: ["retainUIDs"],
  rules: [],
});

describe("UIDs that would leave the archive's root (application/zip)", () => {
  it("remaps an invalid UID with the standard prefix: the entry is named after the new UID", async () => {
    const res = await t.app.inject({
      method: "POST",
      url: "/anonymize?profile=hipaa",
      headers: { "content-type": "application/dicom", accept: "application/zip" },
      payload: STD_PREFIX_TRAVERSAL,
    });
    expect(res.statusCode).toBe(200);
    const names = await zipNames(res.rawPayload);
    expect(names).toEqual(["audit.json", expect.stringMatching(/^2\.25\.\d+\.dcm$/)]);
  });

  it("refuses the instance when the profile keeps its invalid UID (retainUIDs); the others are answered", async () => {
    const body = multipart(
      [
        { type: "text/plain", data: Buffer.from(KEEP_UIDS), name: "profile" },
        { type: "application/dicom", data: TRAVERSAL, name: "file", filename: "a.dcm" },
        { type: "application/dicom", data: US, name: "file", filename: "b.dcm" },
      ],
      "form-boundary-5678",
    );
    const res = await t.app.inject({
      method: "POST",
      url: "/anonymize",
      headers: {
        "content-type": "multipart/form-data; boundary=form-boundary-5678",
        accept: "application/zip",
      },
      payload: body,
    });
    expect(res.statusCode, res.body.slice(0, 300)).toBe(202);
    const names = await zipNames(res.rawPayload);
    expect(names).toEqual(["audit.json", expect.stringMatching(/^[0-9.]+\.dcm$/)]);
    expect(res.rawPayload.includes("pwned2")).toBe(false);
  });
});

describe("malformed multipart bodies answer 400 problem+json", () => {
  const dicomPart = multipart([{ type: "application/dicom", data: MR, name: "file", filename: "a.dcm" }]);
  const unterminated = dicomPart.subarray(0, dicomPart.length - "--test-boundary-1234--\r\n".length - 100);
  const cases: Array<[string, string, Buffer]> = [
    ["form-data without a boundary", "multipart/form-data", dicomPart],
    ["form-data with an empty boundary", "multipart/form-data; boundary=", dicomPart],
    ["form-data, unterminated", "multipart/form-data; boundary=test-boundary-1234", unterminated],
    ["form-data, another boundary than the body's", "multipart/form-data; boundary=other", dicomPart],
    ["related without a boundary", 'multipart/related; type="application/dicom"', dicomPart],
    [
      "related, unterminated",
      'multipart/related; type="application/dicom"; boundary=test-boundary-1234',
      unterminated,
    ],
  ];
  it.each(cases)("%s", async (_name, contentType, payload) => {
    const res = await t.app.inject({
      method: "POST",
      url: "/anonymize",
      headers: { "content-type": contentType },
      payload,
    });
    expect(res.statusCode).toBe(400);
    expect(res.headers["content-type"]).toMatch(/^application\/problem\+json/);
    expect(res.json()).toMatchObject({ status: 400, title: "Bad Request" });
  });
});

describe("clients that hang up mid-upload (a real socket)", () => {
  let a: TestApp;
  let port: number;
  beforeAll(async () => {
    a = await testApp();
    await a.app.listen({ port: 0, host: "127.0.0.1" });
    port = (a.app.server.address() as net.AddressInfo).port;
  });
  afterAll(async () => a.app.close());

  /** Sends the headers and half the body, then resets the connection, closes it, or half-closes it. */
  async function abortMidBody(
    contentType: string,
    body: Buffer,
    how: "reset" | "destroy" | "end",
  ): Promise<void> {
    const socket = net.connect(port, "127.0.0.1");
    await new Promise<void>((resolve) => socket.once("connect", () => resolve()));
    socket.write(
      `POST /anonymize?profile=hipaa HTTP/1.1\r\nHost: localhost\r\nContent-Type: ${contentType}\r\n` +
        `Content-Length: ${body.length}\r\n\r\n`,
    );
    socket.write(body.subarray(0, body.length >> 1));
    await new Promise((r) => setTimeout(r, 200)); // the server is reading the body
    if (how === "reset") socket.resetAndDestroy();
    else if (how === "destroy") socket.destroy();
    else {
      socket.end();
      await new Promise((r) => setTimeout(r, 300));
      socket.destroy();
    }
  }

  it("a complete request over a real socket, closed by the client after its answer, is completed, not aborted", async () => {
    const answer = await new Promise<number>((resolve, reject) => {
      const req = http.request(
        { port, host: "127.0.0.1", path: "/profiles", headers: { connection: "close" } },
        (res) => {
          res.resume();
          res.on("end", () => resolve(res.statusCode ?? 0));
        },
      );
      req.on("error", reject);
      req.end();
    });
    expect(answer).toBe(200);
    await new Promise((r) => setTimeout(r, 200));
    const line = a.logs
      .flatMap((l) => l.split("\n"))
      .filter(Boolean)
      .map((l) => JSON.parse(l))
      .find((l) => l.route === "/profiles");
    expect(line).toMatchObject({ msg: "request completed", status: 200 });
  });

  it("logs them as aborted (not as errors) and counts them apart from 5xx in /metrics", async () => {
    const related = multipart([{ type: "application/dicom", data: MR }]);
    const form = multipart([{ type: "application/dicom", data: MR, name: "file", filename: "a.dcm" }]);
    await abortMidBody("application/dicom", MR, "reset");
    await abortMidBody(
      'multipart/related; type="application/dicom"; boundary=test-boundary-1234',
      related,
      "destroy",
    );
    await abortMidBody("multipart/form-data; boundary=test-boundary-1234", form, "end");

    const lines = () =>
      a.logs
        .flatMap((l) => l.split("\n"))
        .filter(Boolean)
        .map((l) => JSON.parse(l));
    for (let i = 0; i < 50 && lines().filter((l) => l.route === "/anonymize").length < 3; i++)
      await new Promise((r) => setTimeout(r, 100));
    const requests = lines().filter((l) => l.route === "/anonymize");
    expect(requests).toHaveLength(3);
    for (const l of requests) {
      expect(l.msg).toBe("request aborted by the client");
      expect(l.level).toBeLessThanOrEqual(40); // info or warn, never error
      expect(l.status).toBe("aborted");
    }
    expect(lines().filter((l) => l.level >= 50)).toEqual([]);

    const metrics = (await a.app.inject({ method: "GET", url: "/metrics" })).body;
    expect(metrics).toContain(
      'dwanon_http_requests_total{route="/anonymize",method="POST",status="aborted"} 3',
    );
    expect(metrics).not.toMatch(
      /dwanon_http_requests_total\{route="\/anonymize",method="POST",status="5\d\d"\}/,
    );
  });
});
