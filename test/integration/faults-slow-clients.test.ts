/**
 * Slow clients over real sockets: more clients than MAX_CONCURRENT_REQUESTS trickling their bodies
 * (or headers) at a few bytes a second hold no de-identification slot, so a normal request still
 * gets its 200; and they are cut off (408, or the socket closed) after the configured body-rate
 * window or header timeout, not after REQUEST_TIMEOUT_MS. /anonymize, STOW-RS and session uploads
 * share the upload reader, so each is tried.
 */
import net from "node:net";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { HttpProblem } from "../../src/http/problem.js";
import { BodyPace, chunkSize } from "../../src/upload/pace.js";
import { testApp, type TestApp } from "../helpers/app.js";
import { corpusFile } from "../helpers/corpus.js";

const WINDOW_MS = 4000;
const HEADERS_MS = 2000;
// Cut-off is checked against the window plus a generous margin for a busy 2-core machine (and the
// HTTP server's one-second connection check): a bound that tells a hang from a cut, not a benchmark.
const SLACK_MS = 4000;

let t: TestApp;
let port: number;
const sockets = new Set<net.Socket>();

beforeAll(async () => {
  t = await testApp({
    WORKERS: "1",
    MAX_CONCURRENT_REQUESTS: "2",
    MIN_BODY_RATE: "1024",
    BODY_RATE_WINDOW_MS: String(WINDOW_MS),
    HEADERS_TIMEOUT_MS: String(HEADERS_MS),
  });
  await t.app.listen({ port: 0, host: "127.0.0.1" });
  port = (t.app.server.address() as AddressInfo).port;
});
afterAll(async () => {
  for (const s of sockets) s.destroy();
  await t.app.close();
});

interface Ended {
  readonly ms: number;
  /** The status line's code, if the server answered before closing. */
  readonly status: number | undefined;
  readonly answer: string;
}

/**
 * A raw client: `head` (request line and headers) is sent at once unless `trickleHead`, then `body`
 * at once, then one byte of `trickle` every `everyMs`. Resolves when the server closes the socket.
 */
function slowClient(options: { head: string; body?: string; trickleHead?: boolean; everyMs?: number }): {
  ended: Promise<Ended>;
} {
  const started = performance.now();
  const socket = net.connect(port, "127.0.0.1");
  sockets.add(socket);
  let answer = "";
  let timer: NodeJS.Timeout | undefined;
  const ended = new Promise<Ended>((resolve) => {
    socket.on("data", (c: Buffer) => (answer += c.toString("latin1")));
    socket.on("error", () => {});
    socket.on("close", () => {
      clearInterval(timer);
      const m = /^HTTP\/1\.1 (\d{3})/.exec(answer);
      resolve({ ms: performance.now() - started, status: m ? Number(m[1]) : undefined, answer });
    });
  });
  socket.on("connect", () => {
    const trickle = options.trickleHead ? options.head : "\0".repeat(100_000);
    if (!options.trickleHead) socket.write(options.head + (options.body ?? ""));
    let at = 0;
    timer = setInterval(() => {
      if (socket.destroyed || at >= trickle.length) return clearInterval(timer);
      socket.write(trickle[at++]!, "latin1");
    }, options.everyMs ?? 500);
  });
  return { ended };
}

const head = (path: string, contentType: string) =>
  `POST ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: ${contentType}\r\nContent-Length: 100500\r\n\r\n`;
const related = 'multipart/related; type="application/dicom"; boundary=slow';
const partHead = "--slow\r\nContent-Type: application/dicom\r\n\r\n";
const formHead =
  '--slow\r\nContent-Disposition: form-data; name="file"; filename="a.dcm"\r\nContent-Type: application/dicom\r\n\r\n';

async function normalAnonymize(): Promise<{ status: number; at: number }> {
  const res = await fetch(`http://127.0.0.1:${port}/anonymize?profile=hipaa`, {
    method: "POST",
    headers: { "content-type": "application/dicom" },
    body: new Uint8Array(corpusFile("mr-small-implicit-le.dcm")),
  });
  await res.arrayBuffer();
  return { status: res.status, at: performance.now() };
}

describe("clients that trickle their requests", () => {
  it("hold no slot while a normal request gets 200, and are cut off within the window", async () => {
    const started = performance.now();
    const bodies = [
      slowClient({ head: head("/anonymize", "application/dicom") }),
      slowClient({ head: head("/anonymize", "application/dicom") }),
      slowClient({ head: head("/anonymize", related), body: partHead }),
      slowClient({ head: head("/anonymize", "multipart/form-data; boundary=slow"), body: formHead }),
      // A custom profile arrives at once, then the instance trickles: still no slot (two of them
      // would take both slots if the profile part took one).
      ...[1, 2].map(() =>
        slowClient({
          head: head("/anonymize", "multipart/form-data; boundary=slow"),
          body: `--slow\r\nContent-Disposition: form-data; name="profile"\r\n\r\n${JSON.stringify({ name: "mine", description: "", version: "1", extends: "hipaa", rules: [] })}\r\n${formHead}`,
        }),
      ),
      slowClient({ head: head("/dicomweb/studies", related), body: partHead }),
      slowClient({ head: head("/sessions", "application/dicom") }),
      slowClient({ head: head("/sessions", related), body: partHead }),
    ];
    const headers = slowClient({ head: head("/anonymize", "application/dicom"), trickleHead: true });
    await new Promise((r) => setTimeout(r, 500));

    // 9 slow bodies against 2 slots: a normal request is still admitted. (A second try after a 503:
    // on a loaded machine the event-loop-delay guard may answer one; slots held by the slow clients
    // would answer 503 every time.)
    let normal = await normalAnonymize();
    if (normal.status === 503) normal = await normalAnonymize();
    expect(normal.status).toBe(200);

    const guard = new Promise<never>((_, reject) =>
      setTimeout(() => reject(new Error("a slow client was not cut off")), WINDOW_MS + 2 * SLACK_MS),
    );
    const ends = await Promise.race([Promise.all(bodies.map((b) => b.ended)), guard]);
    const headerEnd = await Promise.race([headers.ended, guard]);
    console.log(
      `slow clients: bodies cut at ${ends.map((e) => `${Math.round(e.ms)} ms (${e.status ?? "closed"})`).join(", ")}; headers at ${Math.round(headerEnd.ms)} ms (${headerEnd.status ?? "closed"}); normal request done at ${Math.round(normal.at - started)} ms`,
    );
    const firstCut = Math.min(...ends.map((e) => e.ms)) + started;
    // The normal request was served while every slow client was still connected.
    expect(normal.at).toBeLessThan(firstCut);
    for (const e of ends) {
      expect(e.ms).toBeGreaterThanOrEqual(WINDOW_MS - 100);
      expect(e.ms).toBeLessThan(WINDOW_MS + SLACK_MS);
      expect([408, undefined]).toContain(e.status);
      if (e.status === 408) expect(e.answer).toMatch(/content-type: application\/problem\+json/i);
    }
    expect(ends.some((e) => e.status === 408)).toBe(true);
    expect(headerEnd.ms).toBeLessThan(HEADERS_MS + SLACK_MS);
    expect([408, undefined]).toContain(headerEnd.status);
    if (headerEnd.status === 408)
      expect(headerEnd.answer).toMatch(/content-type: application\/problem\+json/i);
    // After they are gone, the service still answers.
    expect((await normalAnonymize()).status).toBe(200);
    // Cut off as a client fault: nothing logged as an unexpected (500) error.
    expect(t.logs.join("")).not.toMatch(/unexpected error|"status":500/);
    expect(t.logs.join("")).toMatch(/"status":408/);
  }, 40_000);

  it("what node:http rejects before a route (unparsable HTTP) is problem+json too", async () => {
    const socket = net.connect(port, "127.0.0.1");
    sockets.add(socket);
    let answer = "";
    socket.on("data", (c: Buffer) => (answer += c.toString("latin1")));
    socket.on("error", () => {});
    await new Promise((r) => socket.on("connect", r));
    socket.write("NOT HTTP AT ALL\r\n\r\n");
    await new Promise((r) => socket.on("close", r));
    expect(answer).toMatch(/^HTTP\/1\.1 400 /);
    expect(answer).toMatch(/content-type: application\/problem\+json/i);
    const body = JSON.parse(answer.slice(answer.indexOf("\r\n\r\n") + 4)) as { status: number };
    expect(body.status).toBe(400);
  });

  it("a body slower than the window but above the minimum rate is accepted", async () => {
    const data = corpusFile("mr-small-implicit-le.dcm");
    const started = performance.now();
    const { status } = await new Promise<{ status: number | undefined }>((resolve) => {
      const socket = net.connect(port, "127.0.0.1");
      sockets.add(socket);
      let answer = "";
      socket.on("data", (c: Buffer) => {
        answer += c.toString("latin1");
        const m = /^HTTP\/1\.1 (\d{3})/.exec(answer);
        if (m) resolve({ status: Number(m[1]) });
      });
      socket.on("error", () => {});
      socket.on("close", () => resolve({ status: undefined }));
      socket.on("connect", () => {
        socket.write(
          `POST /anonymize HTTP/1.1\r\nHost: x\r\nContent-Type: application/dicom\r\nContent-Length: ${data.length}\r\n\r\n`,
        );
        let at = 0;
        // ~1.5 KB/s, above the 1 KiB/s minimum, for about 6.5 s: longer than one window.
        const timer = setInterval(() => {
          if (at >= data.length) return clearInterval(timer);
          socket.write(data.subarray(at, at + 300));
          at += 300;
        }, 200);
      });
    });
    expect(performance.now() - started).toBeGreaterThan(WINDOW_MS);
    expect(status).toBe(200);
  }, 30_000);
});

describe("bytes buffered before admission (MAX_RECEIVING_BYTES)", () => {
  it("bound the uploads being received at once (503), and come back when a sender leaves", async () => {
    const budget = await testApp({
      WORKERS: "1",
      MAX_PART_BYTES: "64KiB",
      MAX_REQUEST_BYTES: "64KiB",
      MAX_RECEIVING_BYTES: "64KiB",
    });
    try {
      await budget.app.listen({ port: 0, host: "127.0.0.1" });
      const at = `http://127.0.0.1:${(budget.app.server.address() as AddressInfo).port}`;
      const small = corpusFile("mr-small-implicit-le.dcm"); // 9,702 bytes
      const larger = corpusFile("ct-explicit-le-ge-small.dcm"); // 39,206 bytes
      const send = async (data: Buffer) => {
        const res = await fetch(`${at}/anonymize`, {
          method: "POST",
          headers: { "content-type": "application/dicom" },
          body: new Uint8Array(data),
        });
        await res.arrayBuffer();
        return res;
      };

      // A sender that has sent 30,000 of its 39,206 bytes and stalls holds them (not a slot).
      const holder = net.connect((budget.app.server.address() as AddressInfo).port, "127.0.0.1");
      sockets.add(holder);
      holder.on("error", () => {});
      await new Promise((r) => holder.on("connect", r));
      holder.write(
        `POST /anonymize HTTP/1.1\r\nHost: x\r\nContent-Type: application/dicom\r\nContent-Length: ${larger.length}\r\n\r\n`,
      );
      holder.write(larger.subarray(0, 30_000));
      await new Promise((r) => setTimeout(r, 300));

      const over = await send(larger);
      expect(over.status).toBe(503);
      expect(over.headers.get("retry-after")).toBe("5");
      expect((await send(small)).status).toBe(200);

      holder.destroy();
      await new Promise((r) => setTimeout(r, 300));
      expect((await send(larger)).status).toBe(200);
    } finally {
      await budget.app.close();
    }
  }, 30_000);
});

describe("the minimum body rate counts only time spent waiting for the client", () => {
  const limits = {
    maxParts: 10,
    maxPartBytes: 1e6,
    maxRequestBytes: 1e6,
    minBytesPerSecond: 1e6,
    rateWindowMs: 500,
  };
  const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

  it("a consumer that holds back (a busy engine) never makes a fast sender too slow", async () => {
    async function* instant() {
      for (let i = 0; i < 8; i++) yield Buffer.alloc(100);
    }
    let n = 0;
    for await (const chunk of new BodyPace(limits).iterate(instant(), chunkSize)) {
      n += chunk.length;
      await sleep(200); // 1.6 s of wall time in all, more than three windows
    }
    expect(n).toBe(800);
  });

  it("a sender below the rate is cut with 408 after one window of waiting", async () => {
    async function* slow() {
      for (let i = 0; i < 20; i++) {
        await sleep(100);
        yield Buffer.alloc(100);
      }
    }
    const started = performance.now();
    let error: unknown;
    try {
      for await (const _ of new BodyPace(limits).iterate(slow(), chunkSize));
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(HttpProblem);
    expect((error as HttpProblem).status).toBe(408);
    expect((error as HttpProblem).headers.connection).toBe("close");
    // Cut after one window (500 ms), before the sender would have finished (2 s).
    expect(performance.now() - started).toBeLessThan(1900);
  });
});
