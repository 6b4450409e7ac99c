/**
 * A destination that answers or reads slowly cannot hold a STOW forward past DESTINATION_TIMEOUT_MS:
 * the timeout is a deadline for the whole exchange (connect, send, response headers and body), not
 * an idle timeout that every trickled byte resets. Real local servers, real sockets.
 */
import http from "node:http";
import net from "node:net";
import type { AddressInfo } from "node:net";
import { afterAll, describe, expect, it } from "vitest";
import { forwardInstances, type Destination } from "../../src/dicomweb/stow-client.js";
import { multipart, testApp } from "../helpers/app.js";
import { corpusFile } from "../helpers/corpus.js";

const DEADLINE_MS = 2000;
// An upper bound that tells a hang from a forward cut at its deadline on a busy 2-core machine;
// not a speed benchmark.
const BOUND_MS = DEADLINE_MS + 3000;

const cleanups: Array<() => void> = [];
afterAll(() => {
  for (const c of cleanups) c();
});

function listening(server: net.Server): Promise<string> {
  return new Promise((resolve) =>
    server.listen(0, "127.0.0.1", () =>
      resolve(`http://127.0.0.1:${(server.address() as AddressInfo).port}/studies`),
    ),
  );
}

/** Reads the whole request, then answers 200 with a body trickled at 1 byte/s (for up to 60 s). */
async function tricklingBody(): Promise<string> {
  const timers = new Set<NodeJS.Timeout>();
  const server = http.createServer((req, res) => {
    req.resume();
    req.on("end", () => {
      res.writeHead(200, { "content-type": "application/dicom+json" });
      let n = 0;
      const timer = setInterval(() => {
        if (res.destroyed || ++n > 60) {
          clearInterval(timer);
          if (!res.destroyed) res.end("{}");
          return;
        }
        res.write(" ");
      }, 1000);
      timers.add(timer);
    });
  });
  cleanups.push(() => {
    for (const t of timers) clearInterval(t);
    server.closeAllConnections();
    server.close();
  });
  return listening(server);
}

/** A raw socket that reads the request and trickles its status line and headers at 1 byte/s. */
async function tricklingHeaders(): Promise<string> {
  const timers = new Set<NodeJS.Timeout>();
  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.on("data", () => {});
    socket.on("error", () => {});
    const text = `HTTP/1.1 200 OK\r\nContent-Type: application/dicom+json\r\nX-Pad: ${"a".repeat(60)}\r\n\r\n{}`;
    let at = 0;
    const timer = setInterval(() => {
      if (socket.destroyed || at >= text.length) {
        clearInterval(timer);
        socket.end();
        return;
      }
      socket.write(text[at++]!);
    }, 1000);
    timers.add(timer);
  });
  cleanups.push(() => {
    for (const t of timers) clearInterval(t);
    for (const s of sockets) s.destroy();
    server.close();
  });
  return listening(server);
}

/** Takes the request body slowly (one chunk every 50 ms): the sender is never idle, but never done. */
async function slowReader(): Promise<string> {
  const timers = new Set<NodeJS.Timeout>();
  const server = http.createServer((req, res) => {
    req.on("data", () => {
      req.pause();
      const timer = setTimeout(() => {
        timers.delete(timer);
        if (!req.destroyed) req.resume();
      }, 50);
      timers.add(timer);
    });
    req.on("end", () => res.end("{}"));
    req.on("error", () => {});
  });
  cleanups.push(() => {
    for (const t of timers) clearTimeout(t);
    server.closeAllConnections();
    server.close();
  });
  return listening(server);
}

const destination = (url: string): Destination => ({ name: "default", url, timeoutMs: DEADLINE_MS });

async function timed<T>(work: Promise<T>): Promise<{ value: T; ms: number }> {
  const started = performance.now();
  const value = await work;
  return { value, ms: performance.now() - started };
}

describe("DESTINATION_TIMEOUT_MS is a deadline for the whole forward", () => {
  const instance = { sopInstanceUID: "1.2.3.4", data: Buffer.alloc(1024, 1) };

  it("a destination that trickles its response body is cut at the deadline", async () => {
    const url = await tricklingBody();
    const { value, ms } = await timed(forwardInstances(destination(url), [instance]));
    expect(value).toMatchObject({ reached: false, problem: "timeout" });
    expect(ms).toBeGreaterThanOrEqual(DEADLINE_MS - 50);
    expect(ms).toBeLessThan(BOUND_MS);
  }, 30_000);

  it("a destination that trickles its status line and headers is cut at the deadline", async () => {
    const url = await tricklingHeaders();
    const { value, ms } = await timed(forwardInstances(destination(url), [instance]));
    expect(value).toMatchObject({ reached: false, problem: "timeout" });
    expect(ms).toBeLessThan(BOUND_MS);
  }, 30_000);

  it("a destination that takes the request body slowly is cut at the deadline", async () => {
    const url = await slowReader();
    // Far larger than the loopback socket buffers: at about 1 MB/s the sender needs a minute.
    const big = { sopInstanceUID: "1.2.3.5", data: Buffer.alloc(64 * 1024 * 1024, 2) };
    const { value, ms } = await timed(forwardInstances(destination(url), [big]));
    expect(value).toMatchObject({ reached: false, problem: "timeout" });
    expect(ms).toBeLessThan(BOUND_MS);
  }, 30_000);

  it("a large forward gets a second more per DESTINATION_MIN_RATE bytes, and no more", async () => {
    const url = await slowReader();
    const big = { sopInstanceUID: "1.2.3.6", data: Buffer.alloc(64 * 1024 * 1024, 3) };
    // 64 MiB at 16 MiB/s: a deadline of 2 s + 4 s.
    const rated = { ...destination(url), minBytesPerSecond: 16 * 1024 * 1024 };
    const { value, ms } = await timed(forwardInstances(rated, [big]));
    expect(value).toMatchObject({ reached: false, problem: "timeout" });
    expect(ms).toBeGreaterThanOrEqual(DEADLINE_MS + 4000 - 50);
    expect(ms).toBeLessThan(BOUND_MS + 4000);
  }, 30_000);

  it("STOW-RS through the service: the forward times out, the instance waits in a session with A700", async () => {
    const url = await tricklingBody();
    const t = await testApp({ DESTINATION_STOW_URL: url, DESTINATION_TIMEOUT_MS: String(DEADLINE_MS) });
    try {
      const boundary = "fault-boundary";
      const { value: res, ms } = await timed(
        t.app.inject({
          method: "POST",
          url: "/dicomweb/studies",
          headers: { "content-type": `multipart/related; type="application/dicom"; boundary=${boundary}` },
          payload: multipart(
            [{ type: "application/dicom", data: corpusFile("mr-small-implicit-le.dcm") }],
            boundary,
          ),
        }),
      );
      expect(ms).toBeLessThan(BOUND_MS);
      expect(res.statusCode).toBe(409);
      const json = res.json() as Record<string, { Value: Array<Record<string, { Value: unknown[] }>> }>;
      expect(json["00081198"]!.Value.map((i) => i["00081197"]!.Value[0])).toEqual([0xa700]);
      const location = res.headers.location as string;
      expect(location).toMatch(/^\/sessions\//);
      const session = (await t.app.inject({ url: location })).json() as { counts: { instances: number } };
      expect(session.counts.instances).toBe(1);
      expect(t.logs.join("")).toMatch(/"destination":"timeout"/);
    } finally {
      await t.app.close();
    }
  }, 30_000);
});
