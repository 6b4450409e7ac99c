/**
 * Staged sessions: upload, preview under any profile, apply (stage), revert, commit, delete.
 * Nothing leaves until commit. The logic is here; src/http/sessions.ts only maps it to HTTP.
 */
import crypto from "node:crypto";
import type { AnonymizedInstance, InstanceOutcome } from "../engine/anonymize.js";
import type { EnginePool } from "../engine/pool.js";
import { readInstanceHeader } from "../dicom/instance-header.js";
import { AnonymizerError } from "../errors.js";
import { conflict, HttpProblem, notFound, payloadTooLarge, unprocessable } from "../http/problem.js";
import type { ProfileChoice } from "../http/profile-choice.js";
import { buildAudit, type Audit } from "../respond/audit.js";
import type { UploadPart } from "../upload/limits.js";
import type { InstanceInfo, SessionMeta, SessionStore, Version } from "./store.js";

export interface SessionLimits {
  readonly ttlSeconds: number;
  readonly maxSessionBytes: number;
  readonly maxStoreBytes: number;
}

export interface Rejected {
  readonly index: number;
  readonly reason: string;
}

const insufficientStorage = (detail: string) => new HttpProblem(507, "Insufficient Storage", detail);

export class SessionService {
  constructor(
    private readonly store: SessionStore,
    private readonly engine: EnginePool,
    private readonly limits: SessionLimits,
  ) {}

  /** >= 128 random bits, URL-safe. */
  static newId(): string {
    return crypto.randomBytes(18).toString("base64url");
  }

  private expiry(): string {
    return new Date(Date.now() + this.limits.ttlSeconds * 1000).toISOString();
  }

  async create(
    parts: AsyncIterable<UploadPart>,
    owner: string | null,
  ): Promise<{ meta: SessionMeta; rejected: Rejected[] }> {
    const now = new Date().toISOString();
    let meta: SessionMeta = {
      id: SessionService.newId(),
      owner,
      createdAt: now,
      expiresAt: this.expiry(),
      state: "open",
      profile: null,
      instances: [],
      bytes: 0,
      stagedBytes: 0,
    };
    await this.store.putMeta(meta);
    try {
      const result = await this.addParts(meta, parts);
      meta = result.meta;
      if (meta.instances.length === 0)
        throw unprocessable("no instance could be read", { rejected: result.rejected });
      return result;
    } catch (error) {
      await this.store.delete(meta.id, meta.instances.length + 1);
      throw error;
    }
  }

  async add(
    id: string,
    owner: string | null,
    parts: AsyncIterable<UploadPart>,
  ): Promise<{ meta: SessionMeta; rejected: Rejected[] }> {
    const meta = await this.get(id, owner);
    if (meta.state === "committed") throw conflict("the session is committed; open a new one");
    return this.addParts(meta, parts);
  }

  private async addParts(
    start: SessionMeta,
    parts: AsyncIterable<UploadPart>,
  ): Promise<{ meta: SessionMeta; rejected: Rejected[] }> {
    let meta = start;
    const rejected: Rejected[] = [];
    let offered = meta.instances.length;
    for await (const part of parts) {
      const index = offered++;
      const info = describe(part.data, meta.instances.length);
      if ("reason" in info) {
        rejected.push({ index, reason: info.reason });
        continue;
      }
      if (meta.bytes + part.data.length > this.limits.maxSessionBytes) {
        throw payloadTooLarge(
          `the session would hold more than ${this.limits.maxSessionBytes} bytes (MAX_SESSION_BYTES)`,
        );
      }
      if ((await this.store.totalBytes()) + part.data.length > this.limits.maxStoreBytes) {
        throw insufficientStorage(`the session store is full (MAX_STORE_BYTES); commit or delete sessions`);
      }
      // New originals invalidate a staged result: it would not cover them.
      if (meta.state === "applied") meta = await this.dropStaged(meta);
      meta = {
        ...meta,
        expiresAt: this.expiry(),
        instances: [...meta.instances, info],
        bytes: meta.bytes + part.data.length,
      };
      await this.store.putInstance(meta.id, "original", info.index, part.data, meta.expiresAt);
      await this.store.putMeta(meta);
    }
    return { meta, rejected };
  }

  async get(id: string, owner: string | null): Promise<SessionMeta> {
    const meta = await this.store.getMeta(id);
    // Someone else's session is as absent as no session at all.
    if (!meta || meta.owner !== owner) throw notFound("no such session (it may have expired)");
    return meta;
  }

  private async runAll(meta: SessionMeta, choice: ProfileChoice): Promise<InstanceOutcome[]> {
    if (meta.state === "committed") throw conflict("the session is committed: its originals are gone");
    return Promise.all(
      meta.instances.map(async (info) => {
        const original = await this.store.getInstance(meta.id, "original", info.index);
        if (!original) throw notFound("the session's originals have expired");
        return this.engine.anonymize(original, choice.ref);
      }),
    );
  }

  /** A dry run: every change with before and after; nothing is staged. */
  async preview(
    id: string,
    owner: string | null,
    choice: ProfileChoice,
  ): Promise<Audit & { changesByAction: Record<string, number> }> {
    const meta = await this.get(id, owner);
    const audit = buildAudit(choice.plan, await this.runAll(meta, choice), true);
    return { ...audit, changesByAction: countByAction(audit) };
  }

  async apply(
    id: string,
    owner: string | null,
    choice: ProfileChoice,
  ): Promise<{ meta: SessionMeta; audit: Audit }> {
    let meta = await this.get(id, owner);
    const outcomes = await this.runAll(meta, choice);
    if (meta.state === "applied") meta = await this.dropStaged(meta);
    const audit = buildAudit(choice.plan, outcomes, true);
    let staged = 0;
    for (const [i, o] of outcomes.entries()) {
      if (o.status !== "anonymized") continue;
      staged += o.output.length;
      await this.store.putInstance(meta.id, "staged", meta.instances[i]!.index, o.output, meta.expiresAt);
    }
    await this.store.putAudit(meta.id, JSON.stringify(audit), meta.expiresAt);
    meta = {
      ...meta,
      state: "applied",
      profile: audit.profile,
      bytes: meta.bytes + staged,
      stagedBytes: staged,
    };
    await this.store.putMeta(meta);
    return { meta, audit };
  }

  private async dropStaged(meta: SessionMeta): Promise<SessionMeta> {
    await this.store.deleteVersion(meta.id, "staged", meta.instances.length);
    const next: SessionMeta = {
      ...meta,
      state: "open",
      profile: null,
      bytes: meta.bytes - meta.stagedBytes,
      stagedBytes: 0,
    };
    await this.store.putMeta(next);
    return next;
  }

  async revert(id: string, owner: string | null): Promise<SessionMeta> {
    const meta = await this.get(id, owner);
    if (meta.state === "committed") throw conflict("the session is committed: nothing to revert to");
    return meta.state === "applied" ? this.dropStaged(meta) : meta;
  }

  /** The staged result: the audit and each de-identified instance (in the audit's order). */
  async staged(
    id: string,
    owner: string | null,
  ): Promise<{ meta: SessionMeta; audit: Audit; outputs: Array<{ sopInstanceUID: string; data: Buffer }> }> {
    const meta = await this.get(id, owner);
    if (meta.state === "open")
      throw conflict("nothing is staged: POST /sessions/{id}/apply?profile=<name> first");
    const audit = JSON.parse((await this.store.getAudit(meta.id)) ?? "null") as Audit | null;
    if (!audit) throw notFound("the staged result has expired");
    const outputs: Array<{ sopInstanceUID: string; data: Buffer }> = [];
    for (const [i, instance] of audit.instances.entries()) {
      if (instance.status !== "anonymized") continue;
      const data = await this.store.getInstance(meta.id, "staged", meta.instances[i]!.index);
      if (!data) throw notFound("the staged result has expired");
      outputs.push({ sopInstanceUID: instance.sopInstanceUID!, data });
    }
    return { meta, audit, outputs };
  }

  /** Hands out the staged result; the originals are dropped. A commit without apply is a 409. */
  async commit(
    id: string,
    owner: string | null,
  ): Promise<{ meta: SessionMeta; audit: Audit; outputs: Array<{ sopInstanceUID: string; data: Buffer }> }> {
    const result = await this.staged(id, owner);
    if (result.outputs.length === 0)
      throw unprocessable("no instance of the session could be de-identified under the applied profile");
    return { ...result, meta: await this.markCommitted(result.meta, result.audit) };
  }

  /** Originals go; the listing then names the de-identified instances. Idempotent. */
  async markCommitted(meta: SessionMeta, audit: Audit): Promise<SessionMeta> {
    if (meta.state === "committed") return meta;
    await this.store.deleteVersion(meta.id, "original", meta.instances.length);
    const instances = meta.instances.map((info, i) => ({
      ...info,
      sopInstanceUID: audit.instances[i]?.sopInstanceUID ?? "",
    }));
    const next: SessionMeta = {
      ...meta,
      state: "committed",
      instances,
      bytes: meta.stagedBytes,
    };
    await this.store.putMeta(next);
    return next;
  }

  /**
   * A session holding de-identified instances only (no originals): what a STOW-RS forward leaves
   * behind when the destination did not take everything, so nothing is lost and commit can retry.
   */
  async createStaged(
    instances: ReadonlyArray<{ outcome: AnonymizedInstance; modality: string }>,
    audit: Audit,
    owner: string | null,
  ): Promise<SessionMeta> {
    const expiresAt = this.expiry();
    const infos = instances.map(({ outcome, modality }, index) => ({
      index,
      sopInstanceUID: outcome.sopInstanceUID,
      sopClassUID: outcome.sopClassUID,
      modality,
      bytes: outcome.output.length,
    }));
    const bytes = infos.reduce((n, i) => n + i.bytes, 0);
    if ((await this.store.totalBytes()) + bytes > this.limits.maxStoreBytes)
      throw insufficientStorage("the session store is full (MAX_STORE_BYTES)");
    const meta: SessionMeta = {
      id: SessionService.newId(),
      owner,
      createdAt: new Date().toISOString(),
      expiresAt,
      state: "applied",
      profile: audit.profile,
      instances: infos,
      bytes,
      stagedBytes: bytes,
    };
    await this.store.putMeta(meta);
    for (const [i, { outcome }] of instances.entries())
      await this.store.putInstance(meta.id, "staged", i, outcome.output, expiresAt);
    await this.store.putAudit(meta.id, JSON.stringify(audit), expiresAt);
    return meta;
  }

  async instance(id: string, owner: string | null, index: number, version: Version): Promise<Buffer> {
    const meta = await this.get(id, owner);
    if (!meta.instances.some((i) => i.index === index))
      throw notFound("the session has no instance at this index");
    const data = await this.store.getInstance(meta.id, version, index);
    if (!data)
      throw notFound(
        version === "staged"
          ? "nothing staged for this instance"
          : "the original is gone (committed or expired)",
      );
    return data;
  }

  async remove(id: string, owner: string | null): Promise<void> {
    const meta = await this.get(id, owner);
    await this.store.delete(meta.id, meta.instances.length);
  }
}

/** Reads just enough of an upload to list it (and to refuse what is not an instance). */
function describe(data: Buffer, index: number): InstanceInfo | { reason: string } {
  try {
    const header = readInstanceHeader(data);
    if (!header.sopInstanceUID || !header.sopClassUID) {
      return { reason: "dataset has no SOP Class UID (0008,0016) or SOP Instance UID (0008,0018)" };
    }
    return {
      index,
      sopInstanceUID: header.sopInstanceUID,
      sopClassUID: header.sopClassUID,
      modality: header.modality,
      bytes: data.length,
    };
  } catch (error) {
    if (error instanceof AnonymizerError) return { reason: error.message };
    return { reason: "unreadable DICOM" };
  }
}

function countByAction(audit: Audit): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const i of audit.instances) for (const c of i.changes) counts[c.action] = (counts[c.action] ?? 0) + 1;
  return counts;
}
