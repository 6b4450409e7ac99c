/**
 * Jobs over HTTP: POST /jobs (202 + Location), GET /jobs/{id}, DELETE /jobs/{id} (cancel),
 * POST /jobs/{id}/retry. The logic is in src/jobs/service.ts. Jobs need the Redis the sessions use
 * (SESSION_STORE=redis://...): with the memory store every job route answers 503.
 */
import type { FastifyInstance } from "fastify";
import type { AppContext } from "./context.js";
import { badRequest, HttpProblem } from "./problem.js";

export default async function jobRoutes(app: FastifyInstance, ctx: AppContext): Promise<void> {
  // JSON bodies here only (this plugin's own context); a parse error never quotes the body.
  app.addContentTypeParser(
    "application/json",
    { parseAs: "buffer", bodyLimit: 1024 * 1024 },
    (_request, body, done) => {
      try {
        done(null, JSON.parse((body as Buffer).toString("utf8")));
      } catch {
        done(badRequest("the body is not valid JSON"), undefined);
      }
    },
  );
  const jobs = () => {
    if (!ctx.jobs)
      throw new HttpProblem(
        503,
        "Service Unavailable",
        "jobs need a shared queue: set SESSION_STORE to a redis:// URL (and JOBS=on on the replicas that run them)",
      );
    return ctx.jobs;
  };

  app.post("/jobs", async (request, reply) => {
    const owner = ctx.authenticate(request);
    const { id, mappingToken } = await jobs().create(request.body, owner);
    return reply
      .code(202)
      .header("location", `/jobs/${id}`)
      .send({ id, state: "queued", ...(mappingToken ? { mappingToken } : {}) });
  });

  app.get<{ Params: { id: string } }>("/jobs/:id", async (request) =>
    jobs().status(request.params.id, ctx.authenticate(request)),
  );

  for (const kind of ["uid", "patid"] as const)
    app.get<{ Params: { id: string } }>(`/jobs/:id/${kind}_mapping.csv`, async (request, reply) => {
      const owner = ctx.authenticate(request);
      const token = request.headers["x-mapping-token"];
      const csv = await jobs().mapping(
        request.params.id,
        owner,
        kind,
        typeof token === "string" ? token : undefined,
      );
      return reply.type("text/csv; charset=utf-8").header("cache-control", "no-store").send(csv);
    });

  app.delete<{ Params: { id: string } }>("/jobs/:id", async (request) => {
    const owner = ctx.authenticate(request);
    await jobs().cancel(request.params.id, owner);
    return jobs().status(request.params.id, owner);
  });

  app.post<{ Params: { id: string } }>("/jobs/:id/retry", async (request, reply) => {
    const owner = ctx.authenticate(request);
    await jobs().retry(request.params.id, owner);
    return reply
      .code(202)
      .header("location", `/jobs/${request.params.id}`)
      .send(await jobs().status(request.params.id, owner));
  });
}
