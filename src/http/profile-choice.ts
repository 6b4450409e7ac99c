/** Which profile a request asks for: ?profile=<name>, a custom profile part, or the default. */
import type { EnginePool, ProfileRef } from "../engine/pool.js";
import type { Plan } from "../engine/plan.js";
import { ProfileError } from "../errors.js";
import type { ProfileRegistry } from "../profiles/registry.js";
import { badRequest, notFound } from "./problem.js";

export interface ProfileChoice {
  readonly plan: Plan;
  readonly ref: ProfileRef;
  /** The metrics label: a registered name, or "custom". */
  readonly label: string;
}

export function namedProfile(registry: ProfileRegistry, name: string): ProfileChoice {
  const plan = registry.get(name);
  if (!plan) throw notFound(`unknown profile "${name}"; GET /profiles lists them`);
  return { plan, ref: { name }, label: name };
}

export function customProfile(registry: ProfileRegistry, data: Buffer): ProfileChoice {
  let json: unknown;
  try {
    json = JSON.parse(data.toString("utf8"));
  } catch {
    throw badRequest("the custom profile part is not valid JSON");
  }
  try {
    return { plan: registry.compileCustom(json, "profile part"), ref: { custom: json }, label: "custom" };
  } catch (error) {
    if (error instanceof ProfileError) throw badRequest(`invalid custom profile: ${error.message}`);
    throw error;
  }
}

export type { EnginePool };

/** The metrics label of a profile: its name when it is a registered profile, else "custom". */
export function profileLabel(registry: ProfileRegistry, name: string): string {
  return registry.names().includes(name) ? name : "custom";
}
