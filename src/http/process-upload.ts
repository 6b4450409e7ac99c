/**
 * upload -> engine, shared by every route that takes instances: reads parts as they arrive, picks
 * the profile (a custom profile part must come before the instances), and feeds the engine pool with
 * a bounded number of instances in flight, so a large upload never queues unbounded work or memory.
 */
import type { FastifyRequest } from "fastify";
import type { AnonymizedChunks, FailedInstance } from "../engine/anonymize.js";
import type { EnginePool } from "../engine/pool.js";
import type { ProfileRegistry } from "../profiles/registry.js";
import type { UploadLimits } from "../upload/limits.js";
import { isProfilePart, readUpload } from "../upload/read-upload.js";
import { InFlight } from "./in-flight.js";
import { badRequest } from "./problem.js";
import { customProfile, namedProfile, type ProfileChoice } from "./profile-choice.js";

export interface ProcessDeps {
  readonly registry: ProfileRegistry;
  readonly engine: EnginePool;
  readonly limits: UploadLimits;
  readonly maxInFlight: number;
}

export interface Processed {
  readonly choice: ProfileChoice;
  readonly outcomes: Array<AnonymizedChunks | FailedInstance>;
}

/**
 * Called with each outcome as it completes (completion order), before the next instance may start
 * once the in-flight bound is reached: a streaming response writes it here and awaits the socket, so
 * a slow reader slows the upload. The outcome kept for the audit then drops the output's chunks.
 */
export type OnOutcome = (outcome: AnonymizedChunks | FailedInstance, index: number) => Promise<void>;

export async function processUpload(
  request: FastifyRequest,
  deps: ProcessDeps,
  profileName: string | undefined,
  defaultProfile: string,
  onOutcome?: OnOutcome,
): Promise<Processed> {
  let choice: ProfileChoice | undefined = profileName ? namedProfile(deps.registry, profileName) : undefined;
  const pending: Array<Promise<AnonymizedChunks | FailedInstance>> = [];
  const inFlight = new InFlight(deps.maxInFlight);
  for await (const part of readUpload(request, deps.limits)) {
    if (isProfilePart(part)) {
      if (profileName) throw badRequest("send either ?profile= or a custom profile part, not both");
      if (pending.length > 0 || choice)
        throw badRequest("the custom profile part must come first, and only once");
      choice = customProfile(deps.registry, part.data);
      continue;
    }
    choice ??= namedProfile(deps.registry, defaultProfile);
    // The upload's memory moves to the worker and comes back as the output's pixel data.
    const index = pending.length;
    const anonymized = deps.engine.anonymizeChunks(part.data, choice.ref);
    const task = onOutcome
      ? anonymized.then(async (o) => {
          await onOutcome(o, index);
          return o.status === "anonymized" ? { ...o, chunks: [] } : o;
        })
      : anonymized;
    pending.push(task);
    await inFlight.add(task);
  }
  if (pending.length === 0) throw badRequest("the request carries no DICOM instance");
  return { choice: choice!, outcomes: await Promise.all(pending) };
}
