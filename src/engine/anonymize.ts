/**
 * One instance through the pipeline: parse -> plan lookup -> apply -> record method -> write -> verify.
 * Never throws for bad input: every outcome is either an anonymized instance or a failure with a
 * reason (fail closed). Reasons name tags and offsets, never values.
 */
import { performance } from "node:perf_hooks";
import type { DataElement } from "../dicom/element.js";
import { readPart10, writePart10, type ReadOptions } from "../dicom/part10.js";
import type { Allocator } from "../dicom/write-dataset.js";
import { tagOf } from "../dicom/tag.js";
import { asciiValue } from "../dicom/values.js";
import { AnonymizerError } from "../errors.js";
import { applyPlan, type AuditEntry } from "./apply.js";
import { mergeElements, methodElements } from "./deidentification-method.js";
import type { Plan } from "./plan.js";
import type { UidMapper } from "./uid-map.js";
import { verifyOutput } from "./verify.js";

const SOP_CLASS_UID = tagOf(0x0008, 0x0016);
const SOP_INSTANCE_UID = tagOf(0x0008, 0x0018);
const STUDY_INSTANCE_UID = tagOf(0x0020, 0x000d);
const SERIES_INSTANCE_UID = tagOf(0x0020, 0x000e);
const BURNED_IN_ANNOTATION = tagOf(0x0028, 0x0301);

export interface PhaseTimings {
  parse: number;
  apply: number;
  write: number;
  verify: number;
}

export interface AnonymizedInstance {
  readonly status: "anonymized";
  readonly output: Buffer;
  readonly sopInstanceUID: string;
  readonly sopClassUID: string;
  readonly studyInstanceUID: string;
  readonly seriesInstanceUID: string;
  readonly transferSyntaxUID: string;
  readonly changes: readonly AuditEntry[];
  readonly inputBytes: number;
  readonly timings: PhaseTimings;
}

export interface FailedInstance {
  readonly status: "failed";
  readonly code: string;
  readonly reason: string;
  readonly inputBytes: number;
}

export type InstanceOutcome = AnonymizedInstance | FailedInstance;

export interface AnonymizeContext {
  readonly plan: Plan;
  readonly uids: UidMapper;
  readonly read?: ReadOptions;
  /**
   * Where the output is written. By default a new buffer per instance; a batch tool that writes each
   * output away before the next instance may reuse one buffer (no page faults on every instance).
   */
  readonly allocate?: Allocator;
}

const methodCache = new WeakMap<Plan, DataElement[]>();

function textOf(dataset: readonly DataElement[], tag: number): string {
  return asciiValue(dataset.find((e) => e.tag === tag)?.value);
}

export function anonymizeInstance(input: Buffer, ctx: AnonymizeContext): InstanceOutcome {
  try {
    return run(input, ctx);
  } catch (error) {
    if (error instanceof AnonymizerError) {
      return { status: "failed", code: error.code, reason: error.message, inputBytes: input.length };
    }
    // A bug or an input we did not foresee: still fail closed, with a generic reason (the message of
    // an unexpected error is not known to be free of values).
    return {
      status: "failed",
      code: "INTERNAL",
      reason: "unexpected error while de-identifying",
      inputBytes: input.length,
    };
  }
}

function run(input: Buffer, { plan, uids, read, allocate }: AnonymizeContext): InstanceOutcome {
  const t0 = performance.now();
  const parsed = readPart10(input, read);
  const t1 = performance.now();
  if (!textOf(parsed.dataset, SOP_CLASS_UID) || !textOf(parsed.dataset, SOP_INSTANCE_UID)) {
    return {
      status: "failed",
      code: "NOT_AN_INSTANCE",
      reason: "dataset has no SOP Class UID (0008,0016) or SOP Instance UID (0008,0018)",
      inputBytes: input.length,
    };
  }
  if (
    plan.burnedInAnnotation === "reject" &&
    textOf(parsed.dataset, BURNED_IN_ANNOTATION).toUpperCase() === "YES"
  ) {
    return {
      status: "failed",
      code: "BURNED_IN_ANNOTATION",
      reason: "Burned In Annotation (0028,0301) is YES and this profile does not clean pixel data",
      inputBytes: input.length,
    };
  }
  const applied = applyPlan(parsed.dataset, plan, uids);
  let method = methodCache.get(plan);
  if (!method) {
    method = methodElements(plan);
    methodCache.set(plan, method);
  }
  const dataset = mergeElements(applied.dataset, method);
  const t2 = performance.now();
  const sopClassUID = textOf(dataset, SOP_CLASS_UID);
  const sopInstanceUID = textOf(dataset, SOP_INSTANCE_UID);
  if (!sopInstanceUID) {
    return {
      status: "failed",
      code: "NOT_AN_INSTANCE",
      reason: "the profile removes SOP Instance UID (0008,0018)",
      inputBytes: input.length,
    };
  }
  const output = writePart10(
    {
      dataset,
      transferSyntax: parsed.transferSyntax,
      sopClassUid: sopClassUID,
      sopInstanceUid: sopInstanceUID,
    },
    allocate,
  );
  const t3 = performance.now();
  verifyOutput({ output, plan, originals: applied.originals, generatedPaths: applied.generatedPaths });
  const t4 = performance.now();
  return {
    status: "anonymized",
    output,
    sopInstanceUID,
    sopClassUID,
    studyInstanceUID: textOf(dataset, STUDY_INSTANCE_UID),
    seriesInstanceUID: textOf(dataset, SERIES_INSTANCE_UID),
    transferSyntaxUID: parsed.transferSyntax.uid,
    changes: applied.changes,
    inputBytes: input.length,
    timings: { parse: t1 - t0, apply: t2 - t1, write: t3 - t2, verify: t4 - t3 },
  };
}
