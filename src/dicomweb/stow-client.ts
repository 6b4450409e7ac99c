/**
 * Forwarding to a STOW-RS destination (PS3.18 10.5): one multipart/related request with the
 * de-identified instances; the destination's Store Instances Response says what it accepted.
 * A destination that is down, answers 5xx or times out is reported, never thrown away silently.
 */
import http from "node:http";
import https from "node:https";
import { Readable } from "node:stream";
import { multipartBody } from "../respond/multipart.js";

export interface Destination {
  readonly name: string;
  readonly url: string;
  /** A whole header line ("Authorization: Bearer ...") sent with every request; never logged. */
  readonly authHeader?: string;
  readonly timeoutMs: number;
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
  };
  if (destination.authHeader) {
    const colon = destination.authHeader.indexOf(":");
    headers[destination.authHeader.slice(0, colon).trim().toLowerCase()] = destination.authHeader
      .slice(colon + 1)
      .trim();
  }
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

/** node:http, so the instances stream out as they are (no concatenated copy of the study). */
function post(
  destination: Destination,
  headers: Record<string, string>,
  chunks: readonly Buffer[],
): Promise<Answer> {
  const url = new URL(destination.url);
  const client = url.protocol === "https:" ? https : http;
  return new Promise((resolve) => {
    let settled = false;
    const done = (answer: Answer) => {
      if (!settled) resolve(answer);
      settled = true;
    };
    const req = client.request(url, { method: "POST", headers }, (res) => {
      const parts: Buffer[] = [];
      res.on("data", (c: Buffer) => parts.push(c));
      res.on("end", () =>
        done({ ok: true, status: res.statusCode ?? 0, text: Buffer.concat(parts).toString("utf8") }),
      );
      res.on("error", () => done({ ok: false, problem: "unreachable" }));
    });
    req.setTimeout(destination.timeoutMs, () => {
      done({ ok: false, problem: "timeout" });
      req.destroy();
    });
    req.on("error", () => done({ ok: false, problem: "unreachable" }));
    const stream = Readable.from(chunks);
    stream.pipe(req);
  });
}
