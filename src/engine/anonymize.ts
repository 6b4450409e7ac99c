/**
 * One instance through the pipeline: parse -> plan lookup -> apply -> record method -> write -> verify.
 * Never throws for bad input: every outcome is either an anonymized instance or a failure with a
 * reason (fail closed). Reasons name tags and offsets, never values.
 */
import { performance } from "node:perf_hooks";
import { ChunkedBytes, type ByteSource } from "../dicom/bytes.js";
import { keywordOf } from "../dicom/dictionary.js";
import type { DataElement } from "../dicom/element.js";
import {
  readPart10,
  writePart10,
  writePart10Chunks,
  type ReadOptions,
  type WriteInput,
} from "../dicom/part10.js";
import type { Repair } from "../dicom/read-dataset.js";
import {
  BURNED_IN_ANNOTATION,
  PIXEL_DATA,
  SERIES_INSTANCE_UID,
  SOP_CLASS_UID,
  SOP_INSTANCE_UID,
  STUDY_INSTANCE_UID,
  tagHex,
} from "../dicom/tag.js";
import { isValidUid } from "../dicom/uid.js";
import { asciiValue, encodeValue } from "../dicom/values.js";
import type { Allocator } from "../dicom/write-dataset.js";
import { AnonymizerError } from "../errors.js";
import { cleanPixelData, inPixelScope, PixelError, type PixelBox, type PixelResult } from "../pixel/index.js";
import type { PixelStepOutcome } from "../pixel/step.js";
import { applyPlan, type ApplyResult, type AuditEntry } from "./apply.js";
import { cachedMethodElements, mergeElements } from "./deidentification-method.js";
import type { Plan } from "./plan.js";
import type { UidMapper } from "./uid-map.js";
import { verifyOutput } from "./verify.js";

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
  /** The boxes the Clean Pixel Data step filled (empty: it ran and found none); absent when it did not run. */
  readonly pixelBoxes?: readonly PixelBox[];
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
  /** Put before/after text into the changes (default); off, the changes carry tags and actions only. */
  readonly auditValues?: boolean;
  /**
   * The outcome of the asynchronous pixel step (src/pixel/step.ts) for this same input, when the
   * caller ran it. Without it an instance in the profile's pixel scope is cleaned here synchronously,
   * which works only for codecs already loaded and profiles without the detector.
   */
  readonly pixel?: PixelStepOutcome;
}

const KEPT_UID_NAMES: ReadonlyArray<readonly [number, string]> = [
  [SOP_INSTANCE_UID, "SOP Instance UID (0008,0018)"],
  [STUDY_INSTANCE_UID, "Study Instance UID (0020,000D)"],
  [SERIES_INSTANCE_UID, "Series Instance UID (0020,000E)"],
];

function textOf(dataset: readonly DataElement[], tag: number): string {
  return asciiValue(dataset.find((e) => e.tag === tag)?.value);
}

export function anonymizeInstance(input: Buffer, ctx: AnonymizeContext): InstanceOutcome {
  return guarded(input, () => {
    const prepared = prepare(input, ctx);
    if (prepared.status === "failed") return prepared;
    const t2 = performance.now();
    const output = writePart10(prepared.write, ctx.allocate);
    return finish(prepared, output, output, t2, ctx.plan);
  });
}

export interface AnonymizedChunks extends Omit<AnonymizedInstance, "output"> {
  /** The output file as chunks; large values are views of the input. Write with writev. */
  readonly chunks: readonly Buffer[];
  readonly outputBytes: number;
}

/**
 * The same pipeline, with the output as chunks whose large values (>= bulkThreshold bytes) are
 * views of the input: nothing large is copied, and a 1 GB instance needs 1 GB, not 2. Verification
 * re-reads the chunks in place.
 */
export function anonymizeInstanceChunks(
  input: Buffer,
  ctx: AnonymizeContext,
  bulkThreshold = 64 * 1024,
): AnonymizedChunks | FailedInstance {
  return guarded(input, () => {
    const prepared = prepare(input, ctx);
    if (prepared.status === "failed") return prepared;
    const t2 = performance.now();
    const chunks = writePart10Chunks(prepared.write, bulkThreshold, ctx.allocate);
    const bytes = new ChunkedBytes(chunks);
    const { output: _unused, ...rest } = finish(prepared, bytes, Buffer.alloc(0), t2, ctx.plan);
    return { ...rest, chunks, outputBytes: bytes.length };
  });
}

function guarded<T>(input: Buffer, work: () => T | FailedInstance): T | FailedInstance {
  try {
    return work();
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

interface Prepared {
  readonly status: "prepared";
  readonly write: WriteInput;
  readonly applied: ApplyResult;
  readonly pixelBoxes?: readonly PixelBox[];
  readonly inputBytes: number;
  readonly t0: number;
  readonly t1: number;
}

/** parse -> checks -> apply -> method attributes: everything before the bytes are written. */
function prepare(
  input: Buffer,
  { plan, uids, read, auditValues, pixel: pixelStep }: AnonymizeContext,
): Prepared | FailedInstance {
  const t0 = performance.now();
  const parsed = readPart10(input, read);
  const t1 = performance.now();
  const fail = (code: string, reason: string): FailedInstance => ({
    status: "failed",
    code,
    reason,
    inputBytes: input.length,
  });
  if (!textOf(parsed.dataset, SOP_CLASS_UID) || !textOf(parsed.dataset, SOP_INSTANCE_UID)) {
    return fail(
      "NOT_AN_INSTANCE",
      "dataset has no SOP Class UID (0008,0016) or SOP Instance UID (0008,0018)",
    );
  }
  // The Clean Pixel Data step (src/pixel): only when the profile has a pixel block and the instance
  // is in its scope; a PixelError refuses the instance with its PIXEL_* code (guarded()).
  let pixel: PixelResult | undefined;
  if (plan.pixel && inPixelScope(parsed.dataset, plan.pixel)) {
    if (pixelStep?.status === "refused") throw new PixelError(pixelStep.code, pixelStep.reason);
    pixel = pixelStep?.result ?? cleanPixelData(parsed.dataset, parsed.transferSyntax, plan.pixel);
  }
  if (
    !pixel &&
    plan.burnedInAnnotation === "reject" &&
    textOf(parsed.dataset, BURNED_IN_ANNOTATION).toUpperCase() === "YES"
  ) {
    return fail(
      "BURNED_IN_ANNOTATION",
      "Burned In Annotation (0028,0301) is YES and this profile does not clean pixel data",
    );
  }
  let applied = applyPlan(parsed.dataset, plan, uids, auditValues ?? true);
  let method = cachedMethodElements(plan, pixel !== undefined);
  if (pixel) {
    const before = textOf(parsed.dataset, BURNED_IN_ANNOTATION);
    method = [
      ...method,
      { tag: BURNED_IN_ANNOTATION, vr: "CS", value: encodeValue("NO", "CS"), undefinedLength: false },
      pixel.element,
      ...(pixel.attributes ?? []).map((a) => a.element),
    ];
    applied = {
      ...applied,
      changes: [...applied.changes, ...pixelEntries(pixel, before, auditValues ?? true)],
    };
  }
  const dataset = mergeElements(applied.dataset, method);
  const sopInstanceUid = textOf(dataset, SOP_INSTANCE_UID);
  if (!sopInstanceUid) return fail("NOT_AN_INSTANCE", "the profile removes SOP Instance UID (0008,0018)");
  // Remapped UIDs are valid; kept ones (retainUIDs) may not be, and files and URLs are named after them.
  for (const [tag, name] of KEPT_UID_NAMES) {
    const uid = textOf(dataset, tag);
    if (uid && !isValidUid(uid))
      return fail("INVALID_UID", `${name} is not a valid UID (PS3.5 9.1) and is kept`);
  }
  return {
    status: "prepared",
    write: {
      dataset,
      // A lossy JPEG the pixel step transcoded (profile pixel.lossy "transcode") is written as 4.70.
      transferSyntax: pixel?.transferSyntax ?? parsed.transferSyntax,
      sopClassUid: textOf(dataset, SOP_CLASS_UID),
      sopInstanceUid,
    },
    applied: parsed.repairs.length
      ? { ...applied, changes: [...parsed.repairs.map(repairEntry), ...applied.changes] }
      : applied,
    ...(pixel ? { pixelBoxes: pixel.boxes } : {}),
    inputBytes: input.length,
    t0,
    t1,
  };
}

/** The pixel step in the audit: Burned In Annotation set to NO, and one entry per filled box. */
function pixelEntries(pixel: PixelResult, before: string, values: boolean): AuditEntry[] {
  const out: AuditEntry[] = [
    {
      path: tagHex(BURNED_IN_ANNOTATION),
      tag: tagHex(BURNED_IN_ANNOTATION),
      keyword: "BurnedInAnnotation",
      vr: "CS",
      action: "replace",
      before: values ? before : "",
      after: values ? "NO" : "",
      reason: "the Clean Pixel Data step ran",
    },
  ];
  for (const a of pixel.attributes ?? [])
    out.push({
      path: tagHex(a.element.tag),
      tag: tagHex(a.element.tag),
      keyword: a.keyword,
      vr: a.element.vr,
      action: "replace",
      before: values ? a.before : "",
      after: values ? a.after : "",
      reason: pixel.transferSyntax
        ? `the Clean Pixel Data step wrote transfer syntax ${pixel.transferSyntax.uid}`
        : "the Clean Pixel Data step re-encoded Pixel Data",
    });
  for (const b of pixel.boxes)
    out.push({
      path: tagHex(PIXEL_DATA),
      tag: tagHex(PIXEL_DATA),
      keyword: "PixelData",
      vr: pixel.element.vr,
      action: "cleanPixel",
      before: "",
      after: `frame ${b.frame} x ${b.x} y ${b.y} width ${b.width} height ${b.height} source ${b.source}`,
    });
  return out;
}

/**
 * A reader's repair as an audit entry: action "repair", where and what in `after`, never the value
 * (`before` stays empty; the reader does not keep the bytes it repaired).
 */
function repairEntry(r: Repair): AuditEntry {
  return {
    path: tagHex(r.tag),
    tag: tagHex(r.tag),
    keyword: keywordOf(r.tag) ?? null,
    vr: "",
    action: "repair",
    before: "",
    after: `offset ${r.offset}: ${r.what}`,
  };
}

/** verify -> the outcome. `bytes` is what is re-read; `output` what the caller gets. */
function finish(p: Prepared, bytes: ByteSource, output: Buffer, t2: number, plan: Plan): AnonymizedInstance {
  const t3 = performance.now();
  verifyOutput({
    output: bytes,
    plan,
    originals: p.applied.originals,
    generatedPaths: p.applied.generatedPaths,
  });
  const t4 = performance.now();
  const { dataset } = p.write;
  return {
    status: "anonymized",
    output,
    sopInstanceUID: p.write.sopInstanceUid,
    sopClassUID: p.write.sopClassUid,
    studyInstanceUID: textOf(dataset, STUDY_INSTANCE_UID),
    seriesInstanceUID: textOf(dataset, SERIES_INSTANCE_UID),
    transferSyntaxUID: p.write.transferSyntax.uid,
    changes: p.applied.changes,
    ...(p.pixelBoxes ? { pixelBoxes: p.pixelBoxes } : {}),
    inputBytes: p.inputBytes,
    timings: { parse: p.t1 - p.t0, apply: t2 - p.t1, write: t3 - t2, verify: t4 - t3 },
  };
}

/** Bytes of an anonymized outcome's output, whichever form it has. */
export function outputBytesOf(o: AnonymizedInstance | AnonymizedChunks): number {
  return "chunks" in o ? o.outputBytes : o.output.length;
}
