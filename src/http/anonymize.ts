/** POST /anonymize: instances in, de-identified instances and the audit out. */
import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import type { AnonymizedChunks } from "../engine/anonymize.js";
import { buildAudit } from "../respond/audit.js";
import { negotiate } from "./negotiate.js";
import { sendResult } from "./send-result.js";
import { processUpload } from "./process-upload.js";
import { badRequest, notAcceptable, unprocessable } from "./problem.js";
import { streamResult } from "./stream-result.js";
import type { AppContext } from "./context.js";

export default async function anonymizeRoutes(app: FastifyInstance, ctx: AppContext): Promise<void> {
  app.post<{ Querystring: { profile?: string; stream?: string } }>("/anonymize", async (request, reply) => {
    ctx.authenticate(request);
    const format = negotiate(request.headers.accept);
    const stream = request.query.stream;
    if (stream !== undefined && stream !== "true" && stream !== "false")
      throw badRequest("stream must be true or false");
    if (stream === "true") {
      if (format === "mixed")
        throw notAcceptable(
          '?stream=true answers multipart/related; type="application/dicom" or application/zip',
        );
      return streamed(request, reply, ctx, format);
    }
    const { limits, release } = ctx.upload();
    try {
      const { choice, outcomes } = await processUpload(
        request,
        { ...ctx.process, limits },
        request.query.profile,
        ctx.config.defaultProfile,
      );
      const audit = buildAudit(choice.plan, outcomes);
      ctx.countInstances(choice.label, outcomes);
      request.instanceSummary = audit.summary;
      const done = outcomes.filter((o): o is AnonymizedChunks => o.status === "anonymized");
      if (done.length === 0) {
        throw unprocessable("no instance could be de-identified", {
          instances: audit.instances.map((i) => ({ index: i.index, status: i.status, reason: i.reason })),
        });
      }
      reply.code(done.length === outcomes.length ? 200 : 202);
      return sendResult(
        reply,
        format,
        audit,
        done.map((o) => ({ sopInstanceUID: o.sopInstanceUID, data: o.chunks })),
      );
    } finally {
      release();
    }
  });
}

/**
 * ?stream=true: instances are written as they complete, so memory is bounded by the instances in
 * flight. Errors before the first instance is ready are ordinary problem responses; after it, the
 * response is 200 and its outcome is in the trailing audit and the X-Anonymizer-Summary trailer.
 */
async function streamed(
  request: FastifyRequest<{ Querystring: { profile?: string } }>,
  reply: FastifyReply,
  ctx: AppContext,
  format: "related" | "zip",
): Promise<FastifyReply> {
  const out = streamResult(reply, format);
  const { limits, release } = ctx.upload();
  try {
    const { choice, outcomes } = await processUpload(
      request,
      { ...ctx.process, limits },
      request.query.profile,
      ctx.config.defaultProfile,
      out.write,
    );
    const audit = buildAudit(choice.plan, outcomes);
    ctx.countInstances(choice.label, outcomes);
    request.instanceSummary = audit.summary;
    if (!out.started() && audit.summary.anonymized === 0) {
      throw unprocessable("no instance could be de-identified", {
        instances: audit.instances.map((i) => ({ index: i.index, status: i.status, reason: i.reason })),
      });
    }
    out.finish(audit);
    return reply;
  } catch (err) {
    if (!out.started()) throw err;
    // No values: the failure's own message is not sent, only that the batch did not complete.
    request.log.warn({ err: { name: (err as Error).name } }, "streamed response failed after its headers");
    out.fail("the batch did not complete; the instances sent before this part are de-identified");
    return reply;
  } finally {
    release();
  }
}
