/**
 * upload -> engine, shared by every route that takes instances: reads parts as they arrive, picks
 * the profile (a custom profile part must come before the instances), and feeds the engine pool with
 * a bounded number of instances in flight, so a large upload never queues unbounded work or memory.
 */
import type { FastifyRequest } from "fastify";
import type { InstanceOutcome } from "../engine/anonymize.js";
import type { EnginePool } from "../engine/pool.js";
import type { ProfileRegistry } from "../profiles/registry.js";
import type { UploadLimits } from "../upload/limits.js";
import { isProfilePart, readUpload } from "../upload/read-upload.js";
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
  readonly outcomes: InstanceOutcome[];
}

export async function processUpload(
  request: FastifyRequest,
  deps: ProcessDeps,
  profileName: string | undefined,
  defaultProfile: string,
): Promise<Processed> {
  let choice: ProfileChoice | undefined = profileName ? namedProfile(deps.registry, profileName) : undefined;
  const pending: Array<Promise<InstanceOutcome>> = [];
  const inFlight = new Set<Promise<InstanceOutcome>>();
  for await (const part of readUpload(request, deps.limits)) {
    if (isProfilePart(part)) {
      if (profileName) throw badRequest("send either ?profile= or a custom profile part, not both");
      if (pending.length > 0 || choice)
        throw badRequest("the custom profile part must come first, and only once");
      choice = customProfile(deps.registry, part.data);
      continue;
    }
    choice ??= namedProfile(deps.registry, defaultProfile);
    const task = deps.engine.anonymize(part.data, choice.ref, true);
    pending.push(task);
    inFlight.add(task);
    const settle = () => inFlight.delete(task);
    task.then(settle, settle);
    if (inFlight.size >= deps.maxInFlight) await Promise.race(inFlight);
  }
  if (pending.length === 0) throw badRequest("the request carries no DICOM instance");
  return { choice: choice!, outcomes: await Promise.all(pending) };
}
