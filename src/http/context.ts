/** What route modules share: configuration, the profile registry, the engine pool, metrics, admission. */
import type { FastifyRequest } from "fastify";
import type { Config } from "../config.js";
import type { SessionService } from "../sessions/service.js";
import type { Owner } from "./auth.js";
import type { ForwardingService } from "../dicomweb/forwarding.js";
import type { JobService } from "../jobs/service.js";
import type { AnonymizedChunks, InstanceOutcome } from "../engine/anonymize.js";
import type { EnginePool } from "../engine/pool.js";
import type { ProfileRegistry } from "../profiles/registry.js";
import type { Metrics } from "./metrics.js";
import type { ProcessDeps } from "./process-upload.js";
import type { UploadLimits } from "../upload/limits.js";

export interface AppContext {
  readonly config: Config;
  readonly registry: ProfileRegistry;
  readonly engine: EnginePool;
  readonly metrics: Metrics;
  readonly process: ProcessDeps;
  /** Admits one de-identification request or throws 503; call the returned function when done. */
  readonly admit: () => () => void;
  /**
   * For routes that read instances: the upload limits to read with, whose reader takes the slot
   * when the first part has arrived (a slow sender holds none); release() when done.
   */
  readonly upload: () => { readonly limits: UploadLimits; readonly release: () => void };
  readonly countInstances: (
    profileLabel: string,
    outcomes: ReadonlyArray<InstanceOutcome | AnonymizedChunks>,
  ) => void;
  /** The request's owner (hash of its bearer token), null without API_TOKENS; throws 401. */
  readonly authenticate: (request: FastifyRequest) => Owner;
  readonly sessions: SessionService;
  /** The session store answers (Redis reachable). */
  readonly storeReady: () => Promise<boolean>;
  /** Named STOW-RS destinations: STOW-RS, commit?destination= and jobs forward through it. */
  readonly forwarding: ForwardingService;
  /** Jobs on the BullMQ queue; undefined with the memory session store (the routes answer 503). */
  readonly jobs: JobService | undefined;
}

declare module "fastify" {
  interface FastifyInstance {
    readonly servedRoutes: ReadonlyArray<{ method: string; url: string }>;
  }
  interface FastifyRequest {
    /** Counts for the request log line (no values). */
    instanceSummary?: { total: number; anonymized: number; failed: number };
  }
}
