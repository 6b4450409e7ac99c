/** Builds the app for inject() tests, with its log lines captured for the no-PHI checks. */
import { Writable } from "node:stream";
import pino from "pino";
import type { FastifyInstance } from "fastify";
import { buildApp } from "../../src/app.js";
import { loadConfig, type Config } from "../../src/config.js";

export interface TestApp {
  readonly app: FastifyInstance;
  readonly logs: string[];
}

export async function testApp(env: Record<string, string> = {}): Promise<TestApp> {
  const logs: string[] = [];
  const sink = new Writable({
    write(chunk, _encoding, callback) {
      logs.push(String(chunk));
      callback();
    },
  });
  // The event-loop check is off here: these tests share their process's event loop with the app, and
  // their own synchronous work (parsing corpora, building bodies) would trip it. It has its own test.
  const config: Config = loadConfig({
    UID_SECRET: "test-secret",
    WORKERS: "2",
    LOG_LEVEL: "debug",
    MAX_EVENT_LOOP_DELAY_MS: "0",
    ...env,
  });
  const app = await buildApp({ config, logger: pino({ level: "debug" }, sink) });
  await app.ready();
  return { app, logs };
}

/** A multipart body (related or form-data style) from parts, with its boundary. */
export function multipart(
  parts: Array<{ type: string; data: Buffer; name?: string; filename?: string }>,
  boundary = "test-boundary-1234",
): Buffer {
  const chunks: Buffer[] = [];
  for (const p of parts) {
    const disposition = p.name
      ? `Content-Disposition: form-data; name="${p.name}"${p.filename ? `; filename="${p.filename}"` : ""}\r\n`
      : "";
    chunks.push(
      Buffer.from(`--${boundary}\r\n${disposition}Content-Type: ${p.type}\r\n\r\n`),
      p.data,
      Buffer.from("\r\n"),
    );
  }
  chunks.push(Buffer.from(`--${boundary}--\r\n`));
  return Buffer.concat(chunks);
}

/** Splits a multipart response (independently of the service's own reader). */
export function splitMultipart(
  body: Buffer,
  contentType: string,
): Array<{ headers: Record<string, string>; data: Buffer }> {
  const boundary = /boundary=([^;]+)/.exec(contentType)?.[1];
  if (!boundary) throw new Error("no boundary");
  const delimiter = Buffer.from(`--${boundary}`);
  const parts: Array<{ headers: Record<string, string>; data: Buffer }> = [];
  let at = body.indexOf(delimiter);
  for (;;) {
    const next = body.indexOf(delimiter, at + delimiter.length);
    if (next < 0) break;
    const part = body.subarray(at + delimiter.length + 2, next - 2);
    const split = part.indexOf("\r\n\r\n");
    const headers = Object.fromEntries(
      part
        .subarray(0, split)
        .toString("latin1")
        .split("\r\n")
        .map((l) => [l.slice(0, l.indexOf(":")).toLowerCase(), l.slice(l.indexOf(":") + 1).trim()]),
    );
    parts.push({ headers, data: part.subarray(split + 4) });
    at = next;
  }
  return parts;
}
