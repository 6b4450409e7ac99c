/**
 * POST /anonymize?stream=true over real sockets: the first instance comes back before the request
 * body has finished uploading; the response parses with independent parsers (Python's email package
 * for multipart/related, Python's zipfile for the zip); failures are in the trailing audit and the
 * X-Anonymizer-Summary trailer; a client that aborts mid-response leaves the server answering.
 */
import { execFileSync } from "node:child_process";
import fs from "node:fs";
import http from "node:http";
import type { AddressInfo } from "node:net";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { testApp, type TestApp } from "../helpers/app.js";
import { corpusFile } from "../helpers/corpus.js";

const PYTHON = "/usr/bin/python3";
const B = "stream-test-boundary";
const CT = corpusFile("ct-explicit-le-ge-small.dcm");
const CR = corpusFile("cr-agfa-private.dcm");

let t: TestApp;
let port: number;
const dir = fs.mkdtempSync(path.join(os.tmpdir(), "stream-"));

beforeAll(async () => {
  t = await testApp({ WORKERS: "1" });
  await t.app.listen({ port: 0, host: "127.0.0.1" });
  port = (t.app.server.address() as AddressInfo).port;
});
afterAll(async () => {
  await t.app.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

const partHead = (type = "application/dicom") => Buffer.from(`--${B}\r\nContent-Type: ${type}\r\n\r\n`);
const body = (files: Buffer[]) =>
  Buffer.concat([...files.flatMap((f) => [partHead(), f, Buffer.from("\r\n")]), Buffer.from(`--${B}--\r\n`)]);

interface Answer {
  status: number;
  headers: http.IncomingHttpHeaders;
  trailers: NodeJS.Dict<string>;
  body: Buffer;
}

function post(accept: string, data: Buffer, query = "stream=true"): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      {
        host: "127.0.0.1",
        port,
        method: "POST",
        path: `/anonymize?${query}`,
        headers: { "content-type": `multipart/related; type="application/dicom"; boundary=${B}`, accept },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("end", () =>
          resolve({
            status: res.statusCode ?? 0,
            headers: res.headers,
            trailers: res.trailers,
            body: Buffer.concat(chunks),
          }),
        );
        res.on("error", reject);
      },
    );
    req.on("error", reject);
    req.end(data);
  });
}

/** Parses a multipart body with Python's email package: [content type, length] per part. */
function pythonMultipart(contentType: string, data: Buffer): Array<[string, number, string]> {
  const file = path.join(dir, `mp-${Math.random()}`);
  fs.writeFileSync(file, Buffer.concat([Buffer.from(`Content-Type: ${contentType}\r\n\r\n`), data]));
  const script = `
import email, json, sys
from email import policy
m = email.message_from_binary_file(open(sys.argv[1], "rb"), policy=policy.HTTP)
assert m.is_multipart() and not m.defects, m.defects
out = []
for p in m.iter_parts():
    b = p.get_payload(decode=True)
    out.append([p.get_content_type(), len(b), b.decode() if p.get_content_type().endswith("json") else ""])
print(json.dumps(out))`;
  return JSON.parse(execFileSync(PYTHON, ["-c", script, file], { encoding: "utf8" })) as Array<
    [string, number, string]
  >;
}

describe("POST /anonymize?stream=true", () => {
  it("answers the first instance before the upload has finished", async () => {
    const firstOut = await new Promise<{ firstBeforeSecond: boolean; answer: Answer }>((resolve, reject) => {
      let secondSent = false;
      let firstBeforeSecond = false;
      const req = http.request(
        {
          host: "127.0.0.1",
          port,
          method: "POST",
          path: "/anonymize?stream=true",
          headers: {
            "content-type": `multipart/related; type="application/dicom"; boundary=${B}`,
            accept: 'multipart/related; type="application/dicom"',
          },
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on("data", (c: Buffer) => {
            chunks.push(c);
            const sofar = Buffer.concat(chunks);
            // The first DICOM part is complete once its bytes (and "DICM") are in: send part 2 only then.
            if (!secondSent && sofar.includes("DICM") && sofar.length > CT.length / 2) {
              firstBeforeSecond = true;
              secondSent = true;
              req.end(Buffer.concat([CR, Buffer.from(`\r\n--${B}--\r\n`)]));
            }
          });
          res.on("end", () =>
            resolve({
              firstBeforeSecond,
              answer: {
                status: res.statusCode ?? 0,
                headers: res.headers,
                trailers: res.trailers,
                body: Buffer.concat(chunks),
              },
            }),
          );
          res.on("error", reject);
        },
      );
      req.on("error", reject);
      // Part 1 and the delimiter that closes it; part 2's headers follow, its bytes wait for the answer.
      req.write(Buffer.concat([partHead(), CT, Buffer.from("\r\n"), partHead()]));
    });
    expect(firstOut.firstBeforeSecond).toBe(true);
    const { answer } = firstOut;
    expect(answer.status).toBe(200);
    expect(answer.trailers["x-anonymizer-summary"]).toBe("total=2, anonymized=2, failed=0");
    const parts = pythonMultipart(String(answer.headers["content-type"]), answer.body);
    expect(parts.map((p) => p[0])).toEqual(["application/dicom", "application/dicom", "application/json"]);
    const audit = JSON.parse(parts[2]![2]) as { summary: { total: number; anonymized: number } };
    expect(audit.summary).toMatchObject({ total: 2, anonymized: 2 });
  }, 60_000);

  it("a batch with failures: 200, the failures in the trailing audit and the trailer", async () => {
    const junk = Buffer.alloc(512, 7);
    const answer = await post('multipart/related; type="application/dicom"', body([CT, junk, CR]));
    expect(answer.status).toBe(200);
    expect(answer.headers["trailer"]).toMatch(/x-anonymizer-summary/i);
    expect(answer.trailers["x-anonymizer-summary"]).toBe("total=3, anonymized=2, failed=1");
    const parts = pythonMultipart(String(answer.headers["content-type"]), answer.body);
    expect(parts.map((p) => p[0])).toEqual(["application/dicom", "application/dicom", "application/json"]);
    const audit = JSON.parse(parts[2]![2]) as {
      instances: Array<{ index: number; status: string; reason?: string }>;
    };
    expect(audit.instances.map((i) => [i.index, i.status])).toEqual([
      [0, "anonymized"],
      [1, "failed"],
      [2, "anonymized"],
    ]);
    expect(audit.instances[1]!.reason).toBeTruthy();
  }, 60_000);

  it("when nothing can be de-identified, answers 422 as the buffered response does", async () => {
    const answer = await post('multipart/related; type="application/dicom"', body([Buffer.alloc(300, 1)]));
    expect(answer.status).toBe(422);
    expect(answer.headers["content-type"]).toMatch(/problem\+json/);
  });

  it("zip: the instances, then audit.json as the last entry (read with Python's zipfile)", async () => {
    const answer = await post("application/zip", body([CT, Buffer.alloc(400, 3), CR]));
    expect(answer.status).toBe(200);
    expect(answer.trailers["x-anonymizer-summary"]).toBe("total=3, anonymized=2, failed=1");
    const file = path.join(dir, "out.zip");
    fs.writeFileSync(file, answer.body);
    const script = `
import json, sys, zipfile
z = zipfile.ZipFile(sys.argv[1])
assert z.testzip() is None
names = z.namelist()
print(json.dumps({"names": names, "audit": json.loads(z.read(names[-1])), "dicm": [z.read(n)[128:132].decode() for n in names[:-1]]}))`;
    const out = JSON.parse(execFileSync(PYTHON, ["-c", script, file], { encoding: "utf8" })) as {
      names: string[];
      audit: { summary: { total: number; failed: number } };
      dicm: string[];
    };
    expect(out.names).toHaveLength(3);
    expect(out.names[2]).toBe("audit.json");
    expect(out.dicm).toEqual(["DICM", "DICM"]);
    expect(out.audit.summary).toMatchObject({ total: 3, failed: 1 });
  }, 60_000);

  it("multipart/mixed with stream=true is 406; without stream the buffered contract stays", async () => {
    expect((await post("multipart/mixed", body([CT]))).status).toBe(406);
    const buffered = await post(
      'multipart/related; type="application/dicom"',
      body([CT, Buffer.alloc(300, 1)]),
      "",
    );
    expect(buffered.status).toBe(202);
    expect(buffered.headers["x-anonymizer-summary"]).toBe("total=2, anonymized=1, failed=1");
  });

  it("an error after the headers: a last problem part, then the response is cut (no hang)", async () => {
    const ended = await new Promise<{ status: number; body: Buffer; complete: boolean; errored: boolean }>(
      (resolve) => {
        let sentRest = false;
        const req = http.request(
          {
            host: "127.0.0.1",
            port,
            method: "POST",
            path: "/anonymize?stream=true",
            headers: {
              "content-type": `multipart/related; type="application/dicom"; boundary=${B}`,
              accept: 'multipart/related; type="application/dicom"',
            },
          },
          (res) => {
            const chunks: Buffer[] = [];
            let errored = false;
            const done = () =>
              resolve({
                status: res.statusCode ?? 0,
                body: Buffer.concat(chunks),
                complete: res.complete,
                errored,
              });
            res.on("data", (c: Buffer) => {
              chunks.push(c);
              if (!sentRest) {
                sentRest = true;
                // The upload ends inside part 2, without its closing delimiter: a bad upload, found late.
                req.end(CR.subarray(0, 100));
              }
            });
            res.on("error", () => (errored = true));
            res.on("close", done);
          },
        );
        req.on("error", () => {});
        req.write(Buffer.concat([partHead(), CT, Buffer.from("\r\n"), partHead()]));
      },
    );
    expect(ended.status).toBe(200);
    expect(ended.complete).toBe(false);
    const text = ended.body.toString("latin1");
    expect(text).toContain("Content-Type: application/problem+json");
    const problem = JSON.parse(text.slice(text.lastIndexOf("\r\n\r\n{") + 4).split("\r\n")[0]!) as {
      instances: Array<{ index: number; status: string }>;
    };
    expect(problem.instances).toEqual([expect.objectContaining({ index: 0, status: "anonymized" })]);
    expect(text).not.toMatch(/--dwanon-[0-9a-f]+--/);
  }, 60_000);

  it("a client that aborts mid-response leaves the server answering", async () => {
    const many = body(Array.from({ length: 40 }, () => CT));
    await new Promise<void>((resolve, reject) => {
      const req = http.request(
        {
          host: "127.0.0.1",
          port,
          method: "POST",
          path: "/anonymize?stream=true",
          headers: {
            "content-type": `multipart/related; type="application/dicom"; boundary=${B}`,
            accept: 'multipart/related; type="application/dicom"',
          },
        },
        (res) => {
          res.once("data", () => {
            req.destroy();
            resolve();
          });
        },
      );
      req.on("error", () => {});
      req.write(many.subarray(0, many.length - 100));
      setTimeout(() => reject(new Error("no first part")), 30_000).unref();
    });
    // The server is still answering a full streamed request afterwards.
    const answer = await post('multipart/related; type="application/dicom"', body([CT]));
    expect(answer.status).toBe(200);
    expect(answer.trailers["x-anonymizer-summary"]).toBe("total=1, anonymized=1, failed=0");
  }, 60_000);
});
