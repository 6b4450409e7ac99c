/**
 * The Store Instances Response (PS3.18 10.5.3, Annex I) as DICOM JSON: Referenced SOP Sequence
 * (0008,1199) for stored instances, Failed SOP Sequence (0008,1198) with Failure Reason (0008,1197)
 * for the rest, Retrieve URL (0008,1190) where the instances can be retrieved.
 */

/** Failure Reason codes (PS3.18 Table I.2-1 / PS3.4 Annex GG). */
export const FailureReason = {
  processingFailure: 0x0110,
  outOfResources: 0xa700,
  doesNotMatch: 0xa900,
  cannotUnderstand: 0xc000,
} as const;

export interface StowReference {
  readonly sopClassUID: string;
  readonly sopInstanceUID: string;
  readonly retrieveURL?: string;
}

export interface StowFailure {
  readonly sopClassUID: string;
  readonly sopInstanceUID: string;
  readonly reason: number;
}

type JsonElement = { vr: string; Value?: unknown[] };

export function stowResponse(
  referenced: readonly StowReference[],
  failed: readonly StowFailure[],
  retrieveURL?: string,
): Record<string, JsonElement> {
  const out: Record<string, JsonElement> = {};
  if (retrieveURL) out["00081190"] = { vr: "UR", Value: [retrieveURL] };
  if (failed.length > 0) {
    out["00081198"] = {
      vr: "SQ",
      Value: failed.map((f) => ({
        "00081150": uid(f.sopClassUID),
        "00081155": uid(f.sopInstanceUID),
        "00081197": { vr: "US", Value: [f.reason] },
      })),
    };
  }
  out["00081199"] = {
    vr: "SQ",
    Value: referenced.map((r) => ({
      "00081150": uid(r.sopClassUID),
      "00081155": uid(r.sopInstanceUID),
      ...(r.retrieveURL ? { "00081190": { vr: "UR", Value: [r.retrieveURL] } } : {}),
    })),
  };
  return out;
}

function uid(value: string): JsonElement {
  return value ? { vr: "UI", Value: [value] } : { vr: "UI" };
}

/** PS3.18 10.5.3.1: 200 all stored, 202 some, 409 none. */
export function stowStatus(stored: number, failed: number): 200 | 202 | 409 {
  if (failed === 0) return 200;
  return stored > 0 ? 202 : 409;
}
