/**
 * Where staged sessions live. Two implementations with the same contract (tested by one suite):
 * in-memory (the default, nothing to install) and Redis (several replicas share sessions). Originals
 * hold PHI: a store never logs them, the memory store never writes them to disk, and they go on
 * commit, DELETE or expiry.
 *
 * The model: instance bytes and audits are immutable blobs under keys never reused; the metadata
 * names the blobs the session holds and is the only thing that changes. It changes by
 * compare-and-swap on its version (so concurrent requests, on one replica or several, never lose
 * each other's writes), and it is written last (so a session, or an instance in it, exists only
 * once its bytes are stored). A blob is first written with a short expiry; the swap that references
 * it extends it to the session's. Commit and apply hold a lease, so only one runs per session.
 */
import { HttpProblem } from "../http/problem.js";

export type SessionState = "open" | "applied" | "committed";

export interface InstanceInfo {
  readonly index: number;
  readonly sopInstanceUID: string;
  readonly sopClassUID: string;
  readonly modality: string;
  readonly bytes: number;
  /** Blob key of the original (gone once committed). Internal: never shown. */
  readonly original?: string;
  /** Blob key of the staged (de-identified) copy. Internal: never shown. */
  readonly staged?: string;
  /** The destination acknowledged the staged copy (commit?destination=): a retry does not resend it. */
  readonly acknowledged?: boolean;
}

export interface StagedProfile {
  readonly name: string;
  readonly version: string;
  readonly rules: number;
}

export interface SessionMeta {
  readonly id: string;
  /** Bumped by every change; the store swaps the metadata only over the version it was read at. */
  readonly version: number;
  /** Hash of the bearer token that created the session, when tokens are configured. */
  readonly owner: string | null;
  readonly createdAt: string;
  readonly expiresAt: string;
  readonly state: SessionState;
  readonly profile: StagedProfile | null;
  readonly instances: readonly InstanceInfo[];
  /** Blob key of the staged result's audit (JSON, with before values: it stays inside the service). */
  readonly audit?: string;
  /** Bytes of originals plus staged copies held for this session. */
  readonly bytes: number;
  /** The staged copies' share of `bytes` (the rest is originals). */
  readonly stagedBytes: number;
}

export type Version = "original" | "staged";

/**
 * ok: written. conflict: the version moved (re-read and retry). gone: the session no longer exists.
 * leased: another request holds the session's lease.
 */
export type SwapResult = "ok" | "conflict" | "gone" | "leased";

export interface SwapOptions {
  /** The lease token the caller holds; without one, the swap fails while anyone holds the lease. */
  readonly lease?: string;
  /** Blob keys the new metadata no longer references: deleted with the swap. */
  readonly drop?: readonly string[];
}

export interface SessionStore {
  /** Stores immutable bytes under a fresh key, expiring at expiresAt unless a swap references them. */
  putBlob(id: string, key: string, data: Buffer, expiresAt: string): Promise<void>;
  getBlob(id: string, key: string): Promise<Buffer | undefined>;
  /** Pushes the expiry of blobs not yet referenced (a long upload). */
  touchBlobs(id: string, keys: readonly string[], expiresAt: string): Promise<void>;
  deleteBlobs(id: string, keys: readonly string[]): Promise<void>;
  getMeta(id: string): Promise<SessionMeta | undefined>;
  /**
   * Atomically: writes `meta` if the stored version is `expected` (undefined: no session by that id
   * exists) and no other request holds the lease; extends every blob it references to
   * meta.expiresAt; deletes `drop`; updates the byte total.
   */
  swapMeta(meta: SessionMeta, expected: number | undefined, options?: SwapOptions): Promise<SwapResult>;
  /** Atomically deletes the metadata, every blob it references and the lease. */
  delete(id: string): Promise<void>;
  /** Takes the session's lease for ttlMs if nobody holds it; false otherwise. */
  acquireLease(id: string, token: string, ttlMs: number): Promise<boolean>;
  /** Extends a lease the caller still holds; false if it was lost. */
  renewLease(id: string, token: string, ttlMs: number): Promise<boolean>;
  releaseLease(id: string, token: string): Promise<void>;
  /** Bytes held by all live sessions (for the global limit), from their metadata. */
  totalBytes(): Promise<number>;
  /** True when the store answers (for /readyz). */
  ready(): Promise<boolean>;
  close(): Promise<void>;
}

/** Every blob key a session's metadata references. */
export function blobsOf(meta: SessionMeta): string[] {
  const keys: string[] = [];
  for (const i of meta.instances) {
    if (i.original) keys.push(i.original);
    if (i.staged) keys.push(i.staged);
  }
  if (meta.audit) keys.push(meta.audit);
  return keys;
}

/** The store does not answer: 503 with Retry-After, as at capacity. Says nothing about the cause. */
export class StoreUnavailable extends HttpProblem {
  constructor() {
    super(
      503,
      "Service Unavailable",
      "the session store does not answer; retry later",
      {},
      { "retry-after": "5" },
    );
  }
}
