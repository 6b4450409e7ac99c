import {
  anonymizeInstance,
  type AnonymizedInstance,
  type InstanceOutcome,
} from "../../src/engine/anonymize.js";
import type { Plan } from "../../src/engine/plan.js";
import { UidMapper } from "../../src/engine/uid-map.js";
import { ProfileRegistry } from "../../src/profiles/registry.js";

export const REGISTRY = ProfileRegistry.load();
export const SECRET = Buffer.from("test-secret-do-not-use-in-production");

export function plan(name: string): Plan {
  const p = REGISTRY.get(name);
  if (!p) throw new Error(`no profile ${name}`);
  return p;
}

export function anonymize(
  input: Buffer,
  profile: string | Plan = "hipaa",
  uids = new UidMapper(SECRET),
): InstanceOutcome {
  return anonymizeInstance(input, { plan: typeof profile === "string" ? plan(profile) : profile, uids });
}

export function anonymized(
  input: Buffer,
  profile: string | Plan = "hipaa",
  uids?: UidMapper,
): AnonymizedInstance {
  const outcome = anonymize(input, profile, uids);
  if (outcome.status !== "anonymized")
    throw new Error(`expected success, got ${outcome.code}: ${outcome.reason}`);
  return outcome;
}

/**
 * `pixel` with its text detector off: templates only. The detector runs in the asynchronous pixel
 * step (runPixelStep, the engine workers, the CLI); tests of the synchronous engine path use this.
 */
export const PIXEL_TEMPLATES: Plan = {
  ...plan("pixel"),
  pixel: { ...plan("pixel").pixel!, detector: false },
};
