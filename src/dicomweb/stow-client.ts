/**
 * Forwarding to a STOW-RS destination (PS3.18 10.5): one multipart/related request with the
 * de-identified instances; the destination's Store Instances Response says what it accepted.
 * A destination that is down, answers 5xx or times out is reported, never thrown away silently.
 */
import http from "node:http";
import https from "node:https";
import { Readable } from "node:stream";
import { multipartBody } from "../respond/multipart.js";
import { authHeaders } from "../config.js";

export interface Destination {
  readonly name: string;
  readonly url: string;
  /** A whole header line ("Authorization: Bearer ...") sent with every request; never logged. */
  readonly authHeader?: string;
  /** A deadline for the whole exchange (connect, send, response headers and body)... */
  readonly timeoutMs: number;
  /** ...that grows by a second per this many bytes sent (0: fixed), so a large study has time to go. */
  readonly minBytesPerSecond?: number;
}

export interface ForwardResult {
  /** The destination answered (any status); false when it could not be reached or timed out. */
  readonly reached: boolean;
  readonly status: number;
  /** SOP Instance UIDs the destination lists as stored / failed. */
  readonly stored: ReadonlySet<string>;
  readonly failed: ReadonlyMap<string, number>;
  /** What went wrong, without values: "unreachable", "timeout", "status 503"... */
  readonly problem?: string;
}

type JsonItem = Record<string, { Value?: unknown[] }>;

export async function forwardInstances(
  destination: Destination,
  instances: ReadonlyArray<{ sopInstanceUID: string; data: Buffer }>,
): Promise<ForwardResult> {
  const body = multipartBody(
    "related",
    instances.map((i) => ({ contentType: "application/dicom", data: i.data })),
    "application/dicom",
  );
  const headers: Record<string, string> = {
    "content-type": body.contentType,
    "content-length": String(body.length),
    accept: "application/dicom+json",
    ...authHeaders(destination),
  };
  const answer = await post(destination, headers, body.chunks);
  if (!answer.ok)
    return { reached: false, status: 0, stored: new Set(), failed: new Map(), problem: answer.problem };
  const { status, text } = answer;
  const stored = new Set<string>();
  const failed = new Map<string, number>();
  let json: JsonItem | JsonItem[] | undefined;
  try {
    json = JSON.parse(text) as JsonItem | JsonItem[];
  } catch {
    json = undefined;
  }
  const root = Array.isArray(json) ? json[0] : json;
  for (const item of (root?.["00081199"]?.Value ?? []) as JsonItem[]) {
    const uid = item["00081155"]?.Value?.[0];
    if (typeof uid === "string") stored.add(uid);
  }
  for (const item of (root?.["00081198"]?.Value ?? []) as JsonItem[]) {
    const uid = item["00081155"]?.Value?.[0];
    if (typeof uid === "string") failed.set(uid, Number(item["00081197"]?.Value?.[0] ?? 0x0110));
  }
  const success = status >= 200 && status < 300;
  // A 2xx without a parsable response still stored what it was sent (some servers answer empty).
  if (success && stored.size === 0 && failed.size === 0)
    for (const i of instances) stored.add(i.sopInstanceUID);
  return { reached: true, status, stored, failed, ...(success ? {} : { problem: `status ${status}` }) };
}

type Answer = { ok: true; status: number; text: string } | { ok: false; problem: string };

/**
 * The destination's Store Instances Response is a few hundred bytes per instance; past this it is
 * not read further and the forward counts as failed (nothing is lost: the instances are kept).
 */
export const MAX_DESTINATION_RESPONSE_BYTES = 16 * 1024 * 1024;

/**
 * node:http, so the instances stream out as they are (no concatenated copy of the study).
 * destination.timeoutMs is a deadline for the whole exchange (connect, send, response headers and
 * body), not an idle timeout: a destination that trickles bytes or reads slowly is cut at it.
 */
function post(
  destination: Destination,
  headers: Record<string, string>,
  chunks: readonly Buffer[],
): Promise<Answer> {
  const url = new URL(destination.url);
  const client = url.protocol === "https:" ? https : http;
  return new Promise((resolve) => {
    const abort = new AbortController();
    let settled = false;
    const done = (answer: Answer) => {
      if (settled) return;
      settled = true;
      clearTimeout(deadline);
      resolve(answer);
      // Whatever is still open (a request being sent, a response being read) goes.
      abort.abort();
    };
    const bytes = chunks.reduce((n, c) => n + c.length, 0);
    const rate = destination.minBytesPerSecond ?? 0;
    const ms = destination.timeoutMs + (rate > 0 ? Math.ceil((bytes / rate) * 1000) : 0);
    const deadline = setTimeout(() => done({ ok: false, problem: "timeout" }), ms);
    const req = client.request(url, { method: "POST", headers, signal: abort.signal }, (res) => {
      const parts: Buffer[] = [];
      let size = 0;
      res.on("data", (c: Buffer) => {
        size += c.length;
        if (size > MAX_DESTINATION_RESPONSE_BYTES) done({ ok: false, problem: "response too large" });
        else parts.push(c);
      });
      res.on("end", () =>
        done({ ok: true, status: res.statusCode ?? 0, text: Buffer.concat(parts).toString("utf8") }),
      );
      res.on("error", () => done({ ok: false, problem: "unreachable" }));
    });
    req.on("error", () => done({ ok: false, problem: "unreachable" }));
    const stream = Readable.from(chunks);
    stream.on("error", () => {});
    stream.pipe(req);
  });
}
