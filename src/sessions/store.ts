/**
 * Where staged sessions live. Two implementations with the same contract (tested by one suite):
 * in-memory (the default, nothing to install) and Redis (several replicas share sessions). Originals
 * hold PHI: a store never logs them, the memory store never writes them to disk, and they go on
 * commit, DELETE or expiry.
 */

export type SessionState = "open" | "applied" | "committed";

export interface InstanceInfo {
  readonly index: number;
  readonly sopInstanceUID: string;
  readonly sopClassUID: string;
  readonly modality: string;
  readonly bytes: number;
}

export interface StagedProfile {
  readonly name: string;
  readonly version: string;
  readonly rules: number;
}

export interface SessionMeta {
  readonly id: string;
  /** Hash of the bearer token that created the session, when tokens are configured. */
  readonly owner: string | null;
  readonly createdAt: string;
  readonly expiresAt: string;
  readonly state: SessionState;
  readonly profile: StagedProfile | null;
  readonly instances: readonly InstanceInfo[];
  /** Bytes of originals plus staged copies held for this session. */
  readonly bytes: number;
  /** The staged copies' share of `bytes` (the rest is originals). */
  readonly stagedBytes: number;
}

export type Version = "original" | "staged";

export interface SessionStore {
  /** Creates or replaces the metadata; it and everything of the session expire at meta.expiresAt. */
  putMeta(meta: SessionMeta): Promise<void>;
  getMeta(id: string): Promise<SessionMeta | undefined>;
  putInstance(id: string, version: Version, index: number, data: Buffer, expiresAt: string): Promise<void>;
  getInstance(id: string, version: Version, index: number): Promise<Buffer | undefined>;
  /** The staged result's audit (JSON text, with before values: it stays inside the service). */
  putAudit(id: string, audit: string, expiresAt: string): Promise<void>;
  getAudit(id: string): Promise<string | undefined>;
  deleteVersion(id: string, version: Version, count: number): Promise<void>;
  delete(id: string, count: number): Promise<void>;
  /** Bytes held by all live sessions (for the global limit), from their metadata. */
  totalBytes(): Promise<number>;
  /** True when the store answers (for /readyz). */
  ready(): Promise<boolean>;
  close(): Promise<void>;
}
