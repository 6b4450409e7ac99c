/** Liveness, readiness and metrics. */
import type { FastifyInstance } from "fastify";
import type { AppContext } from "./context.js";

export default async function healthRoutes(app: FastifyInstance, ctx: AppContext): Promise<void> {
  app.get("/healthz", async () => ({ status: "ok" }));

  app.get("/readyz", async (_request, reply) => {
    const store = await ctx.storeReady();
    const ready = ctx.engine.threads > 0 && ctx.registry.names().length > 0 && store;
    reply.code(ready ? 200 : 503);
    return {
      status: ready ? "ready" : "not ready",
      workers: ctx.engine.threads,
      queued: ctx.engine.queued,
      ...(ctx.engine.detectorState ? { detector: ctx.engine.detectorState } : {}),
      profiles: ctx.registry.names().length,
      sessionStore: store ? "up" : "down",
    };
  });

  app.get("/metrics", async (_request, reply) => {
    reply.type(ctx.metrics.registry.contentType);
    return ctx.metrics.registry.metrics();
  });
}
