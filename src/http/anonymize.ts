/** POST /anonymize: instances in, de-identified instances and the audit out. */
import type { FastifyInstance } from "fastify";
import type { AnonymizedChunks } from "../engine/anonymize.js";
import { buildAudit } from "../respond/audit.js";
import { negotiate } from "./negotiate.js";
import { sendResult } from "./send-result.js";
import { processUpload } from "./process-upload.js";
import { unprocessable } from "./problem.js";
import type { AppContext } from "./context.js";

export default async function anonymizeRoutes(app: FastifyInstance, ctx: AppContext): Promise<void> {
  app.post<{ Querystring: { profile?: string } }>("/anonymize", async (request, reply) => {
    ctx.authenticate(request);
    const format = negotiate(request.headers.accept);
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
