/** POST /anonymize through inject(): every body type, response type and status code. */
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { PassThrough } from "node:stream";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CORPUS, corpusFile, EXPECTED_REJECTIONS } from "../helpers/corpus.js";
import { readWithDcmjs } from "../helpers/dicom.js";
import { multipart, splitMultipart, testApp, type TestApp } from "../helpers/app.js";

let t: TestApp;
beforeAll(async () => {
  t = await testApp();
});
afterAll(async () => t.app.close());

const CT = corpusFile("ct-implicit-le-ge.dcm");
const MR = corpusFile("mr-small-implicit-le.dcm");
const related = (body: Buffer) => ({
  "content-type": 'multipart/related; type="application/dicom"; boundary=test-boundary-1234',
  "content-length": String(body.length),
});

async function post(
  payload: Buffer | PassThrough,
  headers: Record<string, string>,
  query = "?profile=hipaa",
) {
  return t.app.inject({ method: "POST", url: `/anonymize${query}`, payload, headers });
}

describe("POST /anonymize", () => {
  it("takes application/dicom and answers multipart/mixed: the audit first, then the instance", async () => {
    const res = await post(CT, { "content-type": "application/dicom" });
    expect(res.statusCode).toBe(200);
    expect(res.headers["content-type"]).toMatch(/^multipart\/mixed; boundary=/);
    const parts = splitMultipart(res.rawPayload, res.headers["content-type"] as string);
    expect(parts.map((p) => p.headers["content-type"])).toEqual(["application/json", "application/dicom"]);
    const audit = JSON.parse(parts[0]!.data.toString());
    expect(audit.profile).toMatchObject({ name: "hipaa", version: "1.0.0" });
    expect(audit.summary).toMatchObject({ total: 1, anonymized: 1, failed: 0 });
    const instance = audit.instances[0];
    expect(instance.changes.length).toBeGreaterThan(10);
    expect(instance.changes[0]).toEqual(
      expect.objectContaining({
        path: expect.any(String),
        tag: expect.stringMatching(/^[0-9A-F]{8}$/),
        action: expect.any(String),
      }),
    );
    // A one-shot response never carries originals.
    expect(JSON.stringify(audit)).not.toContain('"before"');
    expect(readWithDcmjs(parts[1]!.data).dict["00080018"]?.Value?.[0]).toBe(instance.sopInstanceUID);
  });

  it("the audit says why where the rule alone does not (a private block removed whole)", async () => {
    const res = await post(corpusFile("cr-agfa-private.dcm"), { "content-type": "application/dicom" });
    expect(res.statusCode).toBe(200);
    const parts = splitMultipart(res.rawPayload, res.headers["content-type"] as string);
    const audit = JSON.parse(parts[0]!.data.toString());
    const blocks = audit.instances[0].changes.filter(
      (c: { reason?: string }) => c.reason === "private block removed whole",
    );
    expect(blocks.length).toBeGreaterThan(0);
    expect(blocks[0]).toMatchObject({ action: "remove", after: null });
  });

  it("takes a STOW-style multipart/related batch of the whole corpus: 202, every input accounted for", async () => {
    const files = CORPUS.map((c) => c.file);
    const body = multipart(files.map((f) => ({ type: "application/dicom", data: corpusFile(f) })));
    const res = await post(body, related(body));
    expect(res.statusCode).toBe(202);
    const parts = splitMultipart(res.rawPayload, res.headers["content-type"] as string);
    const audit = JSON.parse(parts[0]!.data.toString());
    expect(audit.instances).toHaveLength(files.length);
    const failed = audit.instances.filter((i: { status: string }) => i.status === "failed");
    expect(failed.map((i: { index: number }) => files[i.index]).sort()).toEqual(
      Object.keys(EXPECTED_REJECTIONS).sort(),
    );
    for (const f of failed) expect(f.reason).toEqual(expect.any(String));
    expect(parts).toHaveLength(1 + files.length - failed.length);
    expect(res.headers["x-anonymizer-summary"]).toBe(
      `total=${files.length}, anonymized=${files.length - failed.length}, failed=${failed.length}`,
    );
  });

  it.each(CORPUS.map((c) => [c.file]))("%s posted alone answers 200 or a clear 422", async (file) => {
    const res = await post(corpusFile(file), { "content-type": "application/dicom" });
    if (EXPECTED_REJECTIONS[file]) {
      expect(res.statusCode).toBe(422);
      expect(res.headers["content-type"]).toMatch(/^application\/problem\+json/);
      expect(res.json().instances[0].reason).toMatch(EXPECTED_REJECTIONS[file]!);
    } else {
      expect(res.statusCode).toBe(200);
    }
  });

  it("takes multipart/form-data files", async () => {
    const body = multipart([
      { type: "application/octet-stream", data: CT, name: "file", filename: "a.dcm" },
      { type: "application/octet-stream", data: MR, name: "file", filename: "b.dcm" },
    ]);
    const res = await post(body, { "content-type": "multipart/form-data; boundary=test-boundary-1234" });
    expect(res.statusCode).toBe(200);
    expect(splitMultipart(res.rawPayload, res.headers["content-type"] as string)).toHaveLength(3);
  });

  it("answers application/zip with audit.json and <new UID>.dcm files (read back by Python's zipfile)", async () => {
    const body = multipart([
      { type: "application/dicom", data: CT },
      { type: "application/dicom", data: MR },
    ]);
    const res = await post(body, { ...related(body), accept: "application/zip" });
    expect(res.statusCode).toBe(200);
    expect(res.headers["content-type"]).toBe("application/zip");
    const zipPath = path.join(os.tmpdir(), `anon-${process.pid}.zip`);
    fs.writeFileSync(zipPath, res.rawPayload);
    const list = spawnSync(
      "python3",
      ["-c", "import sys,zipfile; print('\\n'.join(zipfile.ZipFile(sys.argv[1]).namelist()))", zipPath],
      { encoding: "utf8" },
    );
    fs.rmSync(zipPath);
    expect(list.status).toBe(0);
    const names = list.stdout.trim().split("\n");
    expect(names[0]).toBe("audit.json");
    expect(names.slice(1)).toHaveLength(2);
    for (const n of names.slice(1)) expect(n).toMatch(/^2\.25\.\d+\.dcm$/);
  });

  it('answers multipart/related; type="application/dicom" with the instances only', async () => {
    const res = await post(CT, {
      "content-type": "application/dicom",
      accept: 'multipart/related; type="application/dicom"',
    });
    expect(res.statusCode).toBe(200);
    expect(res.headers["content-type"]).toMatch(/^multipart\/related; type="application\/dicom"; boundary=/);
    const parts = splitMultipart(res.rawPayload, res.headers["content-type"] as string);
    expect(parts.map((p) => p.headers["content-type"])).toEqual(["application/dicom"]);
  });

  it("a custom profile part replaces ?profile=; a bad one is a 400 naming the JSON path", async () => {
    const custom = {
      name: "mine",
      description: "d",
      version: "2",
      extends: "basic",
      rules: [{ keyword: "StudyDescription", action: "keep" }],
    };
    const body = multipart([
      { type: "application/json", data: Buffer.from(JSON.stringify(custom)) },
      { type: "application/dicom", data: CT },
    ]);
    const res = await post(body, related(body), "");
    expect(res.statusCode).toBe(200);
    const audit = JSON.parse(
      splitMultipart(res.rawPayload, res.headers["content-type"] as string)[0]!.data.toString(),
    );
    expect(audit.profile).toMatchObject({ name: "mine", version: "2" });

    const bad = multipart([
      {
        type: "application/json",
        data: Buffer.from(JSON.stringify({ ...custom, rules: [{ keyword: "Nope", action: "keep" }] })),
      },
      { type: "application/dicom", data: CT },
    ]);
    const r2 = await post(bad, related(bad), "");
    expect(r2.statusCode).toBe(400);
    expect(r2.json().detail).toBe("invalid custom profile: $.rules[0].keyword: unknown keyword");
  });

  it.each([
    [
      "unknown profile",
      () => post(CT, { "content-type": "application/dicom" }, "?profile=nope"),
      404,
      /names no known profile/,
    ],
    ["unsupported media type", () => post(Buffer.from("hello"), { "content-type": "text/plain" }), 415, /./],
    [
      "unsupported multipart/related type",
      () => post(CT, { "content-type": 'multipart/related; type="application/pdf"; boundary=x' }),
      415,
      /type="application\/dicom"/,
    ],
    [
      "no acceptable response type",
      () => post(CT, { "content-type": "application/dicom", accept: "text/html" }),
      406,
      /multipart\/mixed/,
    ],
    ["empty body", () => post(Buffer.alloc(0), { "content-type": "application/dicom" }), 400, /empty/],
    [
      "no closing boundary",
      () =>
        post(
          Buffer.from("--test-boundary-1234\r\nContent-Type: application/dicom\r\n\r\nabc"),
          related(Buffer.alloc(0)),
        ),
      400,
      /closing boundary/,
    ],
    ["no parts", () => post(Buffer.from("nothing here"), related(Buffer.alloc(0))), 400, /no parts/],
    [
      "not DICOM at all",
      () => post(Buffer.from("just some text, not an instance"), { "content-type": "application/dicom" }),
      422,
      /no instance/,
    ],
  ])("%s -> %i problem+json", async (_name, send, status, detail) => {
    const res = await send();
    expect(res.statusCode).toBe(status);
    expect(res.headers["content-type"]).toMatch(/^application\/problem\+json/);
    expect(res.json()).toMatchObject({ status, title: expect.any(String) });
    expect(res.json().detail).toMatch(detail);
  });
});

describe("limits", () => {
  let small: TestApp;
  beforeAll(async () => {
    small = await testApp({ MAX_PARTS: "2", MAX_PART_BYTES: "600KiB", MAX_REQUEST_BYTES: "1MiB" });
  });
  afterAll(async () => small.app.close());

  const send = (payload: Buffer, headers: Record<string, string>) =>
    small.app.inject({ method: "POST", url: "/anonymize", payload, headers });

  it("more parts than MAX_PARTS -> 413", async () => {
    const body = multipart([MR, MR, MR].map((data) => ({ type: "application/dicom", data })));
    const res = await send(body, related(body));
    expect(res.statusCode).toBe(413);
    expect(res.json().detail).toMatch(/MAX_PARTS/);
  });

  it("a part larger than MAX_PART_BYTES -> 413", async () => {
    const big = Buffer.concat([CT, Buffer.alloc(200 * 1024)]);
    expect((await send(big, { "content-type": "application/dicom" })).statusCode).toBe(413);
    const body = multipart([{ type: "application/dicom", data: big }]);
    expect((await send(body, related(body))).json().detail).toMatch(/MAX_PART_BYTES/);
  });

  it("a request larger than MAX_REQUEST_BYTES -> 413", async () => {
    const body = multipart([CT, CT].map((data) => ({ type: "application/dicom", data })));
    const res = await send(body, related(body));
    expect(res.statusCode).toBe(413);
    expect(res.json().detail).toMatch(/MAX_REQUEST_BYTES/);
  });
});

describe("overload", () => {
  let one: TestApp;
  beforeAll(async () => {
    one = await testApp({ MAX_CONCURRENT_REQUESTS: "1" });
  });
  afterAll(async () => one.app.close());

  it("answers 503 with Retry-After when at capacity, and serves again afterwards", async () => {
    // A slot is taken once a request's first instance has arrived (a slow sender holds none):
    // this batch has sent its first part and is still sending.
    const slow = new PassThrough();
    const first = one.app.inject({
      method: "POST",
      url: "/anonymize",
      payload: slow,
      headers: { "content-type": related(Buffer.alloc(0))["content-type"] },
    });
    const batch = multipart([
      { type: "application/dicom", data: MR },
      { type: "application/dicom", data: MR },
    ]);
    const secondPart = batch.indexOf("--test-boundary-1234", 10);
    slow.write(batch.subarray(0, secondPart + 30));
    // Once the server has read that first part, the slot is taken: ask until it is (a loaded
    // machine may take longer than a fixed wait; an answer before that is simply served).
    const ask = () =>
      one.app.inject({
        method: "POST",
        url: "/anonymize",
        payload: MR,
        headers: { "content-type": "application/dicom" },
      });
    let second = await ask();
    for (let i = 0; i < 50 && second.statusCode !== 503; i++) {
      await new Promise((r) => setTimeout(r, 100));
      second = await ask();
    }
    expect(second.statusCode).toBe(503);
    expect(second.headers["retry-after"]).toBe("5");
    expect(second.headers["content-type"]).toMatch(/^application\/problem\+json/);
    slow.end(batch.subarray(secondPart + 30));
    expect((await first).statusCode).toBe(200);
    expect((await one.app.inject({ method: "GET", url: "/healthz" })).statusCode).toBe(200);
    const again = await one.app.inject({
      method: "POST",
      url: "/anonymize",
      payload: MR,
      headers: { "content-type": "application/dicom" },
    });
    expect(again.statusCode).toBe(200);
  });
});

describe("event-loop pressure", () => {
  let guarded: TestApp;
  beforeAll(async () => {
    guarded = await testApp({ MAX_EVENT_LOOP_DELAY_MS: "100" });
  });
  afterAll(async () => guarded.app.close());

  it("answers 503 with Retry-After while the event loop is stuck, and serves again afterwards", async () => {
    // Stall this process's event loop as a stuck process would: 300 ms blocks with only a tick between
    // them, so every delay sample of under-pressure's one-second interval is long (one long block
    // inside an otherwise idle interval averages out below the limit). Keep stalling until the guard
    // has taken a sample of it (at most ~6 s), then ask at once.
    const busy = (ms: number) => {
      const until = Date.now() + ms;
      while (Date.now() < until) {
        /* busy: nothing else runs */
      }
    };
    const giveUp = Date.now() + 6000;
    while (!guarded.app.isUnderPressure() && Date.now() < giveUp) {
      busy(300);
      await new Promise((r) => setImmediate(r));
    }
    expect(guarded.app.isUnderPressure()).toBe(true);
    const stuck = await guarded.app.inject({
      method: "POST",
      url: "/anonymize",
      payload: MR,
      headers: { "content-type": "application/dicom" },
    });
    expect(stuck.statusCode).toBe(503);
    expect(stuck.headers["retry-after"]).toBe("5");
    expect(stuck.headers["content-type"]).toMatch(/^application\/problem\+json/);
    let status = 503;
    for (let i = 0; i < 50 && status === 503; i++) {
      await new Promise((r) => setTimeout(r, 200));
      status = (await guarded.app.inject({ method: "GET", url: "/readyz" })).statusCode;
    }
    expect(status).toBe(200);
  });
});
