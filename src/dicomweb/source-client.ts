/**
 * Reading from a DICOMweb server (a named source): QIDO-RS to list studies, series and instances,
 * WADO-RS to retrieve one instance at a time (a job never holds more than the instances in flight).
 * Errors say what went wrong (unreachable, timeout, status) without values; the auth header is a
 * secret and never appears in one.
 */
import { Readable } from "node:stream";
import { authHeaders, type Endpoint } from "../config.js";
import { HttpProblem } from "../http/problem.js";
import { PartCollector, partTooLarge } from "../upload/limits.js";
import { readMultipartRelated } from "../upload/multipart-related.js";
import { parseMediaType } from "../upload/read-upload.js";

const DICOM = "application/dicom";

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
    return { accept, ...authHeaders(this.endpoint) };
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
    const media = parseMediaType(response.headers.get("content-type") ?? undefined);
    const body = Readable.fromWeb(response.body! as import("node:stream/web").ReadableStream<Uint8Array>);
    // One instance: the same streaming reader and limits as uploads (one part, MAX_PART_BYTES).
    const limits = {
      maxParts: 1,
      maxPartBytes: this.maxInstanceBytes,
      maxRequestBytes: this.maxInstanceBytes + 64 * 1024,
    };
    try {
      if (media?.type !== "multipart/related") {
        const collector = new PartCollector(limits.maxPartBytes, () => partTooLarge(limits));
        for await (const chunk of body) collector.add(chunk as Buffer);
        return collector.take();
      }
      if (!media.params.boundary) throw new SourceError("source answered WADO-RS without a boundary", true);
      for await (const part of readMultipartRelated(body, media.params.boundary, DICOM, limits)) {
        body.destroy();
        return part.data;
      }
      throw new SourceError("source answered WADO-RS with no instance part", true);
    } catch (error) {
      body.destroy();
      if (error instanceof SourceError) throw error;
      if (error instanceof HttpProblem && error.status === 413)
        throw new SourceError("source instance larger than MAX_PART_BYTES", true);
      if (error instanceof HttpProblem)
        throw new SourceError("source answered WADO-RS with a malformed body", true);
      throw new SourceError("source connection failed while sending an instance", false);
    }
  }
}

function stringValue(item: JsonItem, tag: string): string | undefined {
  const v = item[tag]?.Value?.[0];
  return typeof v === "string" && v.length > 0 ? v : undefined;
}
