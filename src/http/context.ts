/** What route modules share: configuration, the profile registry, the engine pool, metrics, admission. */
import type { Config } from "../config.js";
import type { InstanceOutcome } from "../engine/anonymize.js";
import type { EnginePool } from "../engine/pool.js";
import type { ProfileRegistry } from "../profiles/registry.js";
import type { Metrics } from "./metrics.js";
import type { ProcessDeps } from "./process-upload.js";

export interface AppContext {
  readonly config: Config;
  readonly registry: ProfileRegistry;
  readonly engine: EnginePool;
  readonly metrics: Metrics;
  readonly process: ProcessDeps;
  /** Admits one de-identification request or throws 503; call the returned function when done. */
  readonly admit: () => () => void;
  readonly countInstances: (profileLabel: string, outcomes: readonly InstanceOutcome[]) => void;
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
