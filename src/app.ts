/**
 * The application as a Fastify instance that tests build with inject() and no port. The process
 * (listen, signals) is server.ts.
 */
import multipart from "@fastify/multipart";
import underPressure from "@fastify/under-pressure";
import Fastify, {
  LogController,
  type FastifyBaseLogger,
  type FastifyError,
  type FastifyInstance,
  type FastifyReply,
  type FastifyRequest,
} from "fastify";
import type { Config } from "./config.js";
import { outputBytesOf, type AnonymizedChunks, type InstanceOutcome } from "./engine/anonymize.js";
import { EnginePool } from "./engine/pool.js";
import { resolveSecret } from "./engine/secret.js";
import anonymizeRoutes from "./http/anonymize.js";
import { clientErrorHandler } from "./http/client-error.js";
import type { AppContext } from "./http/context.js";
import docsRoutes, { DOCS_PREFIX } from "./http/docs.js";
import healthRoutes from "./http/health.js";
import { Metrics } from "./http/metrics.js";
import { badRequest, HttpProblem, isMalformedFormData, overloaded, problemBody } from "./http/problem.js";
import profileRoutes from "./http/profiles.js";
import renderedRoutes from "./http/rendered.js";
import uiRoutes, { UI_PREFIX } from "./http/ui.js";
import sessionRoutes from "./http/sessions.js";
import dicomwebRoutes from "./http/dicomweb.js";
import { ForwardingService } from "./dicomweb/forwarding.js";
import jobRoutes from "./http/jobs.js";
import { JobService } from "./jobs/service.js";
import { makeAuthenticator } from "./http/auth.js";
import { MemorySessionStore } from "./sessions/memory-store.js";
import { RedisSessionStore } from "./sessions/redis-store.js";
import { SessionService } from "./sessions/service.js";
import { builtinProfileDir, ProfileRegistry } from "./profiles/registry.js";
import { DetectorPool } from "./pixel/detector-pool.js";
import { runsDetector } from "./profiles/runs-detector.js";
import type { Admission } from "./upload/limits.js";

export interface BuildOptions {
  readonly config: Config;
  /** A pino logger (tests pass one writing to a buffer); default: pino at config.logLevel on stdout. */
  readonly logger?: FastifyBaseLogger;
}

const TITLES: Record<number, string> = {
  400: "Bad Request",
  404: "Not Found",
  406: "Not Acceptable",
  408: "Request Timeout",
  413: "Payload Too Large",
  415: "Unsupported Media Type",
};

export async function buildApp({ config, logger }: BuildOptions): Promise<FastifyInstance> {
  const profileDirs = config.profilesDir ? [builtinProfileDir(), config.profilesDir] : [builtinProfileDir()];
  const registry = ProfileRegistry.load(profileDirs);
  if (!registry.get(config.defaultProfile)) throw new Error(`DEFAULT_PROFILE names an unknown profile`);
  registry.list(); // compile every profile now: a problem stops start-up, not a request
  const secret = resolveSecret(config.uidSecret);

  const app = Fastify({
    ...(logger ? { loggerInstance: logger } : { logger: { level: config.logLevel } }),
    // We log one line per request ourselves, with the route pattern and never the URL.
    logController: new LogController({ disableRequestLogging: true }),
    requestTimeout: config.requestTimeoutMs,
    // Slow headers are cut at HEADERS_TIMEOUT_MS, checked every second (node's default: 30 s).
    http: { headersTimeout: config.headersTimeoutMs, connectionsCheckingInterval: 1000 },
    clientErrorHandler,
    // A URL Fastify cannot decode: problem+json naming the error, not the default body quoting the URL.
    frameworkErrors: (error, _request, reply) =>
      (reply as FastifyReply)
        .code(400)
        .type("application/problem+json")
        .send(problemBody(new HttpProblem(400, "Bad Request", `request rejected (${error.code})`))),
    return503OnClosing: true,
  });
  if (secret.ephemeral)
    app.log.warn(
      "UID_SECRET is not set: a random secret is used, so UIDs differ between processes and restarts",
    );

  const engine = new EnginePool(
    { profileDirs, secretHex: secret.secret.toString("hex"), maxInflatedBytes: config.maxInflatedBytes },
    config.workers,
    config.detectorThreads > 0
      ? { pool: new DetectorPool(config.detectorThreads), needs: runsDetector(registry) }
      : undefined,
  );
  app.addHook("onClose", async () => engine.close());
  const store =
    config.sessionStore === "memory" ? new MemorySessionStore() : new RedisSessionStore(config.sessionStore);
  app.addHook("onClose", async () => store.close());
  const sessions = new SessionService(store, engine, {
    ttlSeconds: config.sessionTtlSeconds,
    maxSessionBytes: config.maxSessionBytes,
    maxStoreBytes: config.maxStoreBytes,
  });
  const metrics = new Metrics();
  let active = 0;
  const take = () => {
    if (active >= config.maxConcurrentRequests) throw overloaded(5);
    active++;
  };
  // Bytes buffered by uploads not yet admitted to a slot (their first part is still arriving).
  let receiving = 0;
  const limits = {
    maxParts: config.maxParts,
    maxPartBytes: config.maxPartBytes,
    maxRequestBytes: config.maxRequestBytes,
    minBytesPerSecond: config.minBodyRate,
    rateWindowMs: config.bodyRateWindowMs,
  };
  const base = {
    config,
    registry,
    engine,
    metrics,
    process: {
      registry,
      engine,
      limits,
      maxInFlight: config.workers * 2,
    },
    admit: () => {
      take();
      let released = false;
      return () => {
        if (!released) active--;
        released = true;
      };
    },
    upload: () => {
      let state: "receiving" | "admitted" | "released" = "receiving";
      let reserved = 0;
      const admission: Admission = {
        buffer(bytes) {
          if (state !== "receiving") return;
          if (receiving + bytes > config.maxReceivingBytes) throw overloaded(5);
          receiving += bytes;
          reserved += bytes;
        },
        admit() {
          if (state !== "receiving") return;
          take();
          receiving -= reserved;
          reserved = 0;
          state = "admitted";
        },
      };
      return {
        limits: { ...limits, admission },
        release: () => {
          if (state === "admitted") active--;
          receiving -= reserved;
          reserved = 0;
          state = "released";
        },
      };
    },
    authenticate: makeAuthenticator(config.apiTokens),
    sessions,
    storeReady: () => store.ready(),
    countInstances: (label: string, outcomes: ReadonlyArray<InstanceOutcome | AnonymizedChunks>) => {
      for (const o of outcomes) {
        metrics.instances.inc({ profile: label, outcome: o.status });
        metrics.bytes.inc({ profile: label, direction: "in" }, o.inputBytes);
        if (o.status === "anonymized")
          metrics.bytes.inc({ profile: label, direction: "out" }, outputBytesOf(o));
      }
    },
  };

  const forwarding = new ForwardingService(config.destinations, sessions);
  // Jobs share the sessions' Redis; this replica consumes units with JOBS=on.
  const jobs =
    config.sessionStore === "memory"
      ? undefined
      : new JobService(config.sessionStore, { config, engine, registry, forwarding, sessions, log: app.log });
  if (jobs) {
    if (config.jobs) jobs.consume();
    app.addHook("onClose", async () => jobs.close());
  }
  const ctx: AppContext = { ...base, forwarding, jobs };

  // The engine runs on worker threads, so a long event-loop delay means the process itself is stuck:
  // shed load rather than queue behind it. 0 turns the check off.
  await app.register(underPressure, {
    maxEventLoopDelay: config.maxEventLoopDelayMs,
    retryAfter: 5,
    pressureHandler: (_request, reply) => {
      const problem = overloaded(5);
      void reply
        .code(503)
        .header("retry-after", "5")
        .type("application/problem+json")
        .send(problemBody(problem));
    },
  });

  // Bodies are read as streams by the routes; nothing else is accepted.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser(["application/dicom", "multipart/related"], (_request, _payload, done) =>
    done(null),
  );
  await app.register(multipart, {
    limits: {
      fileSize: config.maxPartBytes,
      files: config.maxParts,
      parts: config.maxParts + 16,
      fieldSize: 1024 * 1024,
    },
  });

  // One log line and one count per request. A request whose body was cut off, or whose response
  // closed before it finished, lost its client (mid-upload, or while we worked): "aborted", apart
  // from our own errors.
  const recorded = new WeakSet<FastifyRequest>();
  const record = (request: FastifyRequest, reply: FastifyReply, closedEarly: boolean): void => {
    if (recorded.has(request)) return;
    recorded.add(request);
    const aborted = closedEarly || request.raw.aborted;
    const route = request.routeOptions.url ?? "unmatched";
    const status = aborted ? "aborted" : String(reply.statusCode);
    metrics.requests.inc({ route, method: request.method, status });
    metrics.duration.observe({ route }, reply.elapsedTime / 1000);
    // Route pattern, status, timing and counts only: never the URL (DICOMweb paths carry UIDs), never values.
    request.log.info(
      {
        route,
        method: request.method,
        status: aborted ? status : reply.statusCode,
        ms: Math.round(reply.elapsedTime),
        instances: request.instanceSummary,
      },
      aborted ? "request aborted by the client" : "request completed",
    );
  };
  app.addHook("onRequest", async (request, reply) => {
    // 'close' can run before the (async) onResponse hook of a complete response: only a response
    // that never finished was cut short.
    reply.raw.once("close", () => record(request, reply, !reply.raw.writableFinished));
  });
  app.addHook("onResponse", async (request, reply) =>
    record(request, reply, !(reply.raw.writableFinished || reply.raw.writableEnded)),
  );

  app.setErrorHandler((error: FastifyError | HttpProblem, request, reply) => {
    let problem: HttpProblem;
    if (error instanceof HttpProblem) problem = error;
    else if (error.statusCode && error.statusCode >= 400 && error.statusCode < 500) {
      problem = new HttpProblem(
        error.statusCode,
        TITLES[error.statusCode] ?? "Bad Request",
        `request rejected (${error.code ?? "invalid request"})`,
      );
    } else if (request.raw.aborted || reply.raw.destroyed) {
      // The client hung up (ECONNRESET mid-body): nobody to answer, nothing of ours failed.
      problem = new HttpProblem(400, "Bad Request", "the client closed the connection");
    } else if (isMalformedFormData(error)) {
      problem = badRequest("malformed multipart/form-data body (boundary missing or body unterminated)");
    } else {
      request.log.error(
        { err: { name: error.name, code: (error as FastifyError).code } },
        "unexpected error",
      );
      problem = new HttpProblem(500, "Internal Server Error", "unexpected error");
    }
    return reply
      .code(problem.status)
      .headers(problem.headers)
      .type("application/problem+json")
      .send(problemBody(problem));
  });
  app.setNotFoundHandler((_request, reply) =>
    reply
      .code(404)
      .type("application/problem+json")
      .send(problemBody(new HttpProblem(404, "Not Found", "no such route"))),
  );

  // The served routes, for the test that holds them against openapi.yaml.
  const routes: Array<{ method: string; url: string }> = [];
  app.addHook("onRoute", (route) => {
    for (const method of [route.method].flat())
      // Under /docs/ and /ui/ are the API reference's and the review page's own assets (and a copy
      // of the spec): documented as /docs and /.
      if (method !== "HEAD" && ![`${DOCS_PREFIX}/`, `${UI_PREFIX}/`].some((p) => route.url.startsWith(p)))
        routes.push({ method, url: route.url });
  });
  app.decorate("servedRoutes", routes);

  await app.register(healthRoutes, ctx);
  await app.register(profileRoutes, ctx);
  await app.register(anonymizeRoutes, ctx);
  await app.register(sessionRoutes, ctx);
  await app.register(dicomwebRoutes, ctx);
  await app.register(renderedRoutes, ctx);
  await app.register(jobRoutes, ctx);
  await app.register(docsRoutes);
  await app.register(uiRoutes);
  return app;
}
