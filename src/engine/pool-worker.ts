/**
 * Worker thread of the engine pool: runs anonymizeInstance off the event loop. Plans are compiled
 * here once per profile (built-in and PROFILES_DIR ones at start; custom ones cached by content).
 * The output buffer is transferred back, not copied.
 */
import { move, transferableSymbol, valueSymbol, workerData } from "piscina";
import {
  anonymizeInstance,
  anonymizeInstanceChunks,
  type AnonymizedChunks,
  type InstanceOutcome,
} from "./anonymize.js";
import type { Plan } from "./plan.js";
import { UidMapper } from "./uid-map.js";
import { ProfileRegistry } from "../profiles/registry.js";
import { runPixelStep, type PixelStepOutcome } from "../pixel/step.js";
import { localDetector } from "../pixel/detector.js";
import { remoteDetector } from "../pixel/detector-remote.js";
import type { MessagePort } from "node:worker_threads";

export interface PoolSettings {
  readonly profileDirs: readonly string[];
  readonly secretHex: string;
  readonly maxInflatedBytes: number;
}

export interface PoolTask {
  readonly input: Uint8Array;
  /** Answer with chunks (large values are views of the input, whose memory comes back) instead of one buffer. */
  readonly chunked?: boolean;
  /** A registered profile name, or a custom profile's JSON (already validated by the caller). */
  readonly profile: { readonly name: string } | { readonly custom: unknown; readonly key: string };
  /** The detector pool's channel (a profile that runs the detector, when the service has a pool). */
  readonly detector?: { readonly port: MessagePort; readonly parallelism: number };
}

const settings = workerData as PoolSettings;
const registry = ProfileRegistry.load(settings.profileDirs);
const uids = new UidMapper(Buffer.from(settings.secretHex, "hex"));
const customPlans = new Map<string, Plan>();

function planFor(profile: PoolTask["profile"]): Plan {
  if ("name" in profile) {
    const plan = registry.get(profile.name);
    if (!plan) throw new Error(`unknown profile ${profile.name}`);
    return plan;
  }
  let plan = customPlans.get(profile.key);
  if (!plan) {
    plan = registry.compileCustom(profile.custom);
    if (customPlans.size > 100) customPlans.clear();
    customPlans.set(profile.key, plan);
  }
  return plan;
}

/** Hands the outcome back with its output's memory moved to the caller's thread. */
class MovedOutcome {
  constructor(
    private readonly outcome: InstanceOutcome | AnonymizedChunks,
    private readonly buffers: ArrayBufferLike[],
  ) {}
  get [transferableSymbol](): ArrayBufferLike[] {
    return this.buffers;
  }
  get [valueSymbol](): InstanceOutcome | AnonymizedChunks {
    return this.outcome;
  }
}

/**
 * Only memory the outcome owns may move: views of the input (moved here, moved back) and buffers
 * allocated with allocUnsafeSlow. Anything else (small pooled buffers, such as a deflated file's
 * meta) is copied into an owned buffer first.
 */
function ownedChunks(
  chunks: readonly Buffer[],
  input: ArrayBufferLike,
  arenas: Set<ArrayBufferLike>,
): Buffer[] {
  return chunks.map((c) => {
    if (c.buffer === input || arenas.has(c.buffer)) return c;
    const copy = Buffer.allocUnsafeSlow(c.length);
    c.copy(copy);
    arenas.add(copy.buffer);
    return copy;
  });
}

export default function run(task: PoolTask): unknown {
  const plan = planFor(task.profile);
  // A profile with a pixel step: run it first (async: WASM codecs and the detector load lazily in
  // this worker), then the synchronous pipeline. Without one nothing changes on the header-only path.
  if (plan.pixel) {
    const input = Buffer.from(task.input.buffer, task.input.byteOffset, task.input.byteLength);
    const remote = task.detector && remoteDetector(task.detector.port, task.detector.parallelism);
    return runPixelStep(input, plan, { maxInflatedBytes: settings.maxInflatedBytes }, remote ?? localDetector)
      .finally(() => remote?.close())
      .then((pixel) => runWith(task, plan, pixel));
  }
  return runWith(task, plan, undefined);
}

function runWith(task: PoolTask, plan: Plan, pixel: PixelStepOutcome | undefined): unknown {
  const input = Buffer.from(task.input.buffer, task.input.byteOffset, task.input.byteLength);
  if (task.chunked) {
    const arenas = new Set<ArrayBufferLike>();
    const outcome = anonymizeInstanceChunks(input, {
      plan,
      uids,
      pixel,
      read: { maxInflatedBytes: settings.maxInflatedBytes },
      allocate: (size) => {
        const b = Buffer.allocUnsafeSlow(size);
        arenas.add(b.buffer);
        return b;
      },
    });
    if (outcome.status !== "anonymized") return outcome;
    const chunks = ownedChunks(outcome.chunks, input.buffer, arenas);
    const buffers = [...new Set(chunks.map((c) => c.buffer))];
    return move(new MovedOutcome({ ...outcome, chunks }, buffers) as never);
  }
  // allocUnsafeSlow: the output owns its ArrayBuffer, so moving it moves nothing else.
  const outcome = anonymizeInstance(input, {
    plan,
    uids,
    pixel,
    read: { maxInflatedBytes: settings.maxInflatedBytes },
    allocate: (size) => Buffer.allocUnsafeSlow(size),
  });
  if (outcome.status === "anonymized" && outcome.output.byteLength === outcome.output.buffer.byteLength) {
    return move(new MovedOutcome(outcome, [outcome.output.buffer]) as never);
  }
  return outcome;
}
