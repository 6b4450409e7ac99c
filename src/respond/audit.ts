/**
 * The audit returned with de-identified instances. A one-shot response never carries original
 * (`before`) values: it may be forwarded, and originals must not leave with it.
 */
import { outputBytesOf, type AnonymizedChunks, type InstanceOutcome } from "../engine/anonymize.js";
import type { AuditEntry } from "../engine/apply.js";
import type { Plan } from "../engine/plan.js";

export interface AuditChange {
  readonly path: string;
  readonly tag: string;
  readonly keyword: string | null;
  readonly vr: string;
  readonly action: string;
  readonly after: string | null;
  readonly before?: string;
  /** Why, when the profile's rule alone does not say (a kept text cleaned of an identifier, a repair). */
  readonly reason?: string;
}

export interface AuditInstance {
  readonly index: number;
  readonly status: "anonymized" | "failed";
  readonly sopInstanceUID?: string;
  readonly reason?: string;
  readonly changes: readonly AuditChange[];
}

export interface Audit {
  readonly profile: { readonly name: string; readonly version: string; readonly rules: number };
  readonly instances: readonly AuditInstance[];
  readonly summary: {
    readonly total: number;
    readonly anonymized: number;
    readonly failed: number;
    readonly changes: number;
    readonly bytesIn: number;
    readonly bytesOut: number;
  };
}

export function changeOf(entry: AuditEntry, withBefore: boolean): AuditChange {
  const { path, tag, keyword, vr, action, after } = entry;
  const why = entry.reason === undefined ? {} : { reason: entry.reason };
  return withBefore
    ? { path, tag, keyword, vr, action, before: entry.before, after, ...why }
    : { path, tag, keyword, vr, action, after, ...why };
}

export function buildAudit(
  plan: Plan,
  outcomes: ReadonlyArray<InstanceOutcome | AnonymizedChunks>,
  withBefore = false,
): Audit {
  const instances = outcomes.map((o, index): AuditInstance =>
    o.status === "anonymized"
      ? {
          index,
          status: "anonymized",
          sopInstanceUID: o.sopInstanceUID,
          changes: o.changes.map((c) => changeOf(c, withBefore)),
        }
      : { index, status: "failed", reason: o.reason, changes: [] },
  );
  const anonymized = outcomes.filter((o) => o.status === "anonymized");
  return {
    profile: { name: plan.name, version: plan.version, rules: plan.ruleCount },
    instances,
    summary: {
      total: outcomes.length,
      anonymized: anonymized.length,
      failed: outcomes.length - anonymized.length,
      changes: instances.reduce((n, i) => n + i.changes.length, 0),
      bytesIn: outcomes.reduce((n, o) => n + o.inputBytes, 0),
      bytesOut: anonymized.reduce((n, o) => n + (o.status === "anonymized" ? outputBytesOf(o) : 0), 0),
    },
  };
}
