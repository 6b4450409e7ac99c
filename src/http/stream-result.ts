/**
 * A streamed /anonymize response (?stream=true): each de-identified instance is written as soon as it
 * is ready, the audit last. Headers go out with the first outcome, before the batch's result is known,
 * so the status is 200 and the result is in the trailing audit (a last application/json part, or
 * audit.json as the last zip entry) and in the X-Anonymizer-Summary HTTP trailer. A failure after the
 * headers writes a last application/problem+json part (multipart) and then aborts the response, so a
 * client sees a truncated body (no closing boundary, no end of the chunked encoding), never a hang.
 */
import crypto from "node:crypto";
import { PassThrough } from "node:stream";
import type { FastifyReply } from "fastify";
import yazl from "yazl";
import type { AnonymizedChunks, FailedInstance } from "../engine/anonymize.js";
import type { Audit } from "../respond/audit.js";
import { instanceEntryName } from "../respond/zip.js";
import { DICOM } from "../upload/read-upload.js";

const FIXED_TIME = new Date("2000-01-01T00:00:00Z");

export interface StreamedResult {
  /** Writes one outcome (a failed one writes nothing); resolves once the socket took it. */
  readonly write: (outcome: AnonymizedChunks | FailedInstance, index: number) => Promise<void>;
  /** Whether the response has started (headers sent). */
  readonly started: () => boolean;
  /** Writes the audit and ends the response. */
  readonly finish: (audit: Audit) => void;
  /** Ends a started response as failed: a problem part (multipart), then an abort. */
  readonly fail: (detail: string) => void;
}

function summaryOf(audit: Audit): string {
  return `total=${audit.summary.total}, anonymized=${audit.summary.anonymized}, failed=${audit.summary.failed}`;
}

export function streamResult(reply: FastifyReply, format: "related" | "zip"): StreamedResult {
  const out = new PassThrough({ highWaterMark: 1 << 20 });
  let started = false;
  let summary: (value: string) => void = () => {};
  const trailer = new Promise<string>((resolve) => (summary = resolve));
  const boundary = `dwanon-${crypto.randomBytes(16).toString("hex")}`;
  const zip = format === "zip" ? new yazl.ZipFile() : undefined;
  const seen = new Map<string, number>();
  /** The inputs that completed before a failure, so a failed answer still accounts for them. */
  const done: Array<{ index: number; status: string; sopInstanceUID?: string; reason?: string }> = [];
  const aborted = () => reply.raw.destroyed || out.destroyed;

  const start = () => {
    if (started) return;
    started = true;
    reply.code(200);
    reply.trailer("x-anonymizer-summary", async () => trailer);
    if (zip) {
      reply.type("application/zip").header("content-disposition", 'attachment; filename="anonymized.zip"');
      zip.outputStream.pipe(out);
    } else {
      reply.type(`multipart/related; type="${DICOM}"; boundary=${boundary}`);
    }
    void reply.send(out);
  };

  /** Resolves once the buffered output is below the high-water mark (the socket is reading). */
  const drained = async (): Promise<void> => {
    while (!aborted() && out.writableNeedDrain) {
      await new Promise<void>((resolve) => {
        const done = () => {
          out.off("drain", done);
          out.off("close", done);
          reply.raw.off("close", done);
          resolve();
        };
        out.once("drain", done);
        out.once("close", done);
        reply.raw.once("close", done);
      });
    }
    if (aborted()) throw new Error("the client closed the connection");
  };

  const part = (contentType: string, data: readonly Buffer[]) => {
    const size = data.reduce((n, c) => n + c.length, 0);
    out.write(`--${boundary}\r\nContent-Type: ${contentType}\r\nContent-Length: ${size}\r\n\r\n`);
    for (const c of data) out.write(c);
    out.write("\r\n");
  };

  return {
    started: () => started,
    async write(outcome, index) {
      if (outcome.status !== "anonymized") {
        done.push({ index, status: "failed", reason: outcome.reason });
        return;
      }
      done.push({ index, status: "anonymized", sopInstanceUID: outcome.sopInstanceUID });
      start();
      if (aborted()) throw new Error("the client closed the connection");
      if (zip) {
        const n = (seen.get(outcome.sopInstanceUID) ?? 0) + 1;
        seen.set(outcome.sopInstanceUID, n);
        const entry = new PassThrough();
        zip.addReadStream(entry, instanceEntryName(outcome.sopInstanceUID, n, index), {
          compress: false,
          mtime: FIXED_TIME,
          size: outcome.outputBytes,
        });
        // yazl writes entries one after another; this one's bytes are released as it reads them.
        const written = new Promise<void>((resolve) => {
          entry.once("end", resolve);
          entry.once("close", resolve);
          reply.raw.once("close", resolve);
        });
        for (const c of outcome.chunks) entry.write(c);
        entry.end();
        await written;
      } else {
        part(DICOM, outcome.chunks);
      }
      await drained();
    },
    finish(audit) {
      start();
      summary(summaryOf(audit));
      const json = Buffer.from(JSON.stringify(audit));
      if (zip) {
        zip.addBuffer(json, "audit.json", { compress: false, mtime: FIXED_TIME });
        zip.end();
      } else {
        part("application/json", [json]);
        out.end(`--${boundary}--\r\n`);
      }
    },
    fail(detail) {
      summary("error");
      if (!zip && !aborted()) {
        // Completed inputs by index (reasons name tags and counts, never values); the rest never completed.
        const instances = [...done].sort((a, b) => a.index - b.index);
        const problem = {
          type: "about:blank",
          title: "Internal Server Error",
          status: 500,
          detail,
          instances,
        };
        part("application/problem+json", [Buffer.from(JSON.stringify(problem))]);
      }
      // Let the last part reach the socket, then abort: a client sees the body end early.
      setImmediate(() => {
        out.destroy();
        reply.raw.destroy();
      });
    },
  };
}
