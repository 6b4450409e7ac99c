/** POST /anonymize: instances in, de-identified instances and the audit out. */
import { Readable } from "node:stream";
import type { FastifyInstance, FastifyReply } from "fastify";
import type { AnonymizedInstance } from "../engine/anonymize.js";
import { buildAudit, type Audit } from "../respond/audit.js";
import { multipartBody } from "../respond/multipart.js";
import { zipBody } from "../respond/zip.js";
import { DICOM } from "../upload/read-upload.js";
import { negotiate, type ResponseFormat } from "./negotiate.js";
import { processUpload } from "./process-upload.js";
import { unprocessable } from "./problem.js";
import type { AppContext } from "./context.js";

export default async function anonymizeRoutes(app: FastifyInstance, ctx: AppContext): Promise<void> {
  app.post<{ Querystring: { profile?: string } }>("/anonymize", async (request, reply) => {
    const format = negotiate(request.headers.accept);
    const release = ctx.admit();
    try {
      const { choice, outcomes } = await processUpload(
        request,
        ctx.process,
        request.query.profile,
        ctx.config.defaultProfile,
      );
      const audit = buildAudit(choice.plan, outcomes);
      ctx.countInstances(choice.label, outcomes);
      request.instanceSummary = audit.summary;
      const done = outcomes.filter((o): o is AnonymizedInstance => o.status === "anonymized");
      if (done.length === 0) {
        throw unprocessable("no instance could be de-identified", {
          instances: audit.instances.map((i) => ({ index: i.index, status: i.status, reason: i.reason })),
        });
      }
      reply.code(done.length === outcomes.length ? 200 : 202);
      return send(reply, format, audit, done);
    } finally {
      release();
    }
  });
}

function send(
  reply: FastifyReply,
  format: ResponseFormat,
  audit: Audit,
  done: readonly AnonymizedInstance[],
): FastifyReply {
  const summary = `total=${audit.summary.total}, anonymized=${audit.summary.anonymized}, failed=${audit.summary.failed}`;
  reply.header("x-anonymizer-summary", summary);
  if (format === "zip") {
    const names = new Map<string, number>();
    const files: Array<{ name: string; data: Buffer }> = [
      { name: "audit.json", data: Buffer.from(JSON.stringify(audit, null, 2)) },
    ];
    for (const o of done) {
      const n = (names.get(o.sopInstanceUID) ?? 0) + 1;
      names.set(o.sopInstanceUID, n);
      files.push({
        name: n === 1 ? `${o.sopInstanceUID}.dcm` : `${o.sopInstanceUID}_${n}.dcm`,
        data: o.output,
      });
    }
    return reply
      .type("application/zip")
      .header("content-disposition", 'attachment; filename="anonymized.zip"')
      .send(zipBody(files));
  }
  const instances = done.map((o) => ({ contentType: DICOM, data: o.output }));
  const body =
    format === "related"
      ? multipartBody("related", instances, DICOM)
      : multipartBody("mixed", [
          { contentType: "application/json", data: Buffer.from(JSON.stringify(audit)) },
          ...instances,
        ]);
  return reply
    .type(body.contentType)
    .header("content-length", String(body.length))
    .send(Readable.from(body.chunks));
}
