/** De-identified instances and their audit, in the negotiated format (shared by /anonymize and commit). */
import { Readable } from "node:stream";
import type { FastifyReply } from "fastify";
import type { Audit } from "../respond/audit.js";
import { multipartBody } from "../respond/multipart.js";
import { instanceEntryName, zipBody } from "../respond/zip.js";
import { DICOM } from "../upload/read-upload.js";
import type { ResponseFormat } from "./negotiate.js";

export interface ResultInstance {
  readonly sopInstanceUID: string;
  /** The file, or its chunks (written out as they are). */
  readonly data: Buffer | readonly Buffer[];
}

export function sendResult(
  reply: FastifyReply,
  format: ResponseFormat,
  audit: Audit,
  instances: readonly ResultInstance[],
): FastifyReply {
  reply.header(
    "x-anonymizer-summary",
    `total=${audit.summary.total}, anonymized=${audit.summary.anonymized}, failed=${audit.summary.failed}`,
  );
  if (format === "zip") {
    const seen = new Map<string, number>();
    const files: Array<{ name: string; data: Buffer }> = [
      { name: "audit.json", data: Buffer.from(JSON.stringify(audit, null, 2)) },
    ];
    for (const [position, o] of instances.entries()) {
      // Two inputs with one SOP Instance UID must not overwrite each other in the archive.
      const n = (seen.get(o.sopInstanceUID) ?? 0) + 1;
      seen.set(o.sopInstanceUID, n);
      files.push({
        name: instanceEntryName(o.sopInstanceUID, n, position),
        data: Buffer.isBuffer(o.data) ? o.data : Buffer.concat(o.data as Buffer[]),
      });
    }
    return reply
      .type("application/zip")
      .header("content-disposition", 'attachment; filename="anonymized.zip"')
      .send(zipBody(files));
  }
  const parts = instances.map((o) => ({ contentType: DICOM, data: o.data }));
  const body =
    format === "related"
      ? multipartBody("related", parts, DICOM)
      : multipartBody("mixed", [
          { contentType: "application/json", data: Buffer.from(JSON.stringify(audit)) },
          ...parts,
        ]);
  return reply
    .type(body.contentType)
    .header("content-length", String(body.length))
    .send(Readable.from(body.chunks));
}
