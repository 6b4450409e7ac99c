/**
 * Reading from a DICOMweb server (a named source): QIDO-RS to list studies, series and instances,
 * WADO-RS to retrieve one instance at a time (a job never holds more than the instances in flight).
 * Errors say what went wrong (unreachable, timeout, status) without values; the auth header is a
 * secret and never appears in one.
 */
import type { Endpoint } from "../config.js";

export class SourceError extends Error {
  constructor(
    message: string,
    /** 4xx for one resource (that instance is a failure); otherwise the source is down (retry). */
    readonly permanent: boolean,
  ) {
    super(message);
  }
}

type JsonItem = Record<string, { Value?: unknown[] } | undefined>;

const STUDY_UID = "0020000D";
const SERIES_UID = "0020000E";
const SOP_UID = "00080018";
const SERIES_INSTANCES = "00201209";

export interface SeriesRef {
  readonly study: string;
  readonly series: string;
  /** Number of Series Related Instances, when the source says. */
  readonly instances?: number;
}

export class SourceClient {
  constructor(
    private readonly endpoint: Endpoint,
    private readonly maxInstanceBytes: number,
  ) {}

  private url(route: string): string {
    return `${this.endpoint.url.replace(/\/+$/, "")}${route}`;
  }

  private headers(accept: string): Record<string, string> {
    const headers: Record<string, string> = { accept };
    const auth = this.endpoint.authHeader;
    if (auth) {
      const colon = auth.indexOf(":");
      headers[auth.slice(0, colon).trim().toLowerCase()] = auth.slice(colon + 1).trim();
    }
    return headers;
  }

  private async get(route: string, accept: string): Promise<Response> {
    let response: Response;
    try {
      response = await fetch(this.url(route), {
        headers: this.headers(accept),
        signal: AbortSignal.timeout(this.endpoint.timeoutMs),
      });
    } catch (error) {
      const timeout = error instanceof Error && error.name === "TimeoutError";
      throw new SourceError(timeout ? "source timeout" : "source unreachable", false);
    }
    if (!response.ok) {
      await response.body?.cancel().catch(() => {});
      throw new SourceError(
        `source answered status ${response.status}`,
        response.status >= 400 && response.status < 500 && response.status !== 429,
      );
    }
    return response;
  }

  private async qido(route: string): Promise<JsonItem[]> {
    const response = await this.get(route, "application/dicom+json");
    if (response.status === 204) return [];
    const text = await response.text();
    if (text.trim() === "") return [];
    try {
      const json = JSON.parse(text) as unknown;
      return Array.isArray(json) ? (json as JsonItem[]) : [];
    } catch {
      throw new SourceError("source answered QIDO-RS with something other than DICOM JSON", false);
    }
  }

  /** Study Instance UIDs matching a QIDO-RS query (attribute keyword or tag -> value). */
  async studies(query: Readonly<Record<string, string>>): Promise<string[]> {
    const params = new URLSearchParams(query);
    const items = await this.qido(`/studies?${params.toString()}`);
    return items.flatMap((i) => stringValue(i, STUDY_UID) ?? []);
  }

  async series(study: string): Promise<SeriesRef[]> {
    const items = await this.qido(`/studies/${study}/series`);
    return items.flatMap((i) => {
      const series = stringValue(i, SERIES_UID);
      if (!series) return [];
      const count = Number(i[SERIES_INSTANCES]?.Value?.[0]);
      return [{ study, series, ...(Number.isInteger(count) ? { instances: count } : {}) }];
    });
  }

  async instances(study: string, series: string): Promise<string[]> {
    const items = await this.qido(`/studies/${study}/series/${series}/instances`);
    return items.flatMap((i) => stringValue(i, SOP_UID) ?? []);
  }

  /** WADO-RS retrieve of one instance, read up to maxInstanceBytes, as its Part 10 bytes. */
  async retrieve(study: string, series: string, sop: string): Promise<Buffer> {
    const response = await this.get(
      `/studies/${study}/series/${series}/instances/${sop}`,
      'multipart/related; type="application/dicom"',
    );
    const parts: Buffer[] = [];
    let size = 0;
    const reader = response.body!.getReader();
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      size += value.length;
      if (size > this.maxInstanceBytes + 64 * 1024) {
        await reader.cancel().catch(() => {});
        throw new SourceError("source instance larger than MAX_PART_BYTES", true);
      }
      parts.push(Buffer.from(value.buffer, value.byteOffset, value.byteLength));
    }
    const body = Buffer.concat(parts, size);
    const type = response.headers.get("content-type") ?? "";
    if (!/^multipart\//i.test(type)) return body;
    const part = firstPart(body, type);
    if (!part) throw new SourceError("source answered WADO-RS with no instance part", true);
    return part;
  }
}

function stringValue(item: JsonItem, tag: string): string | undefined {
  const v = item[tag]?.Value?.[0];
  return typeof v === "string" && v.length > 0 ? v : undefined;
}

/** The body of the first part of a multipart response (a single instance). */
export function firstPart(body: Buffer, contentType: string): Buffer | undefined {
  const m = /boundary="?([^";]+)"?/i.exec(contentType);
  if (!m) return undefined;
  const delimiter = Buffer.from(`--${m[1]}`);
  const start = body.indexOf(delimiter);
  if (start < 0) return undefined;
  const headersEnd = body.indexOf("\r\n\r\n", start + delimiter.length);
  if (headersEnd < 0) return undefined;
  const dataStart = headersEnd + 4;
  const end = body.indexOf(Buffer.concat([Buffer.from("\r\n"), delimiter]), dataStart);
  if (end < 0) return undefined;
  return body.subarray(dataStart, end);
}
