/**
 * Staged sessions: upload, preview under any profile, apply (stage), revert, commit, delete.
 * Nothing leaves until commit. The logic is here; src/http/sessions.ts only maps it to HTTP.
 */
import crypto from "node:crypto";
import type { AnonymizedInstance, InstanceOutcome } from "../engine/anonymize.js";
import type { EnginePool } from "../engine/pool.js";
import { readInstanceHeader } from "../dicom/instance-header.js";
import { AnonymizerError } from "../errors.js";
import {
  badRequest,
  conflict,
  HttpProblem,
  notFound,
  payloadTooLarge,
  unprocessable,
} from "../http/problem.js";
import type { ProfileChoice } from "../http/profile-choice.js";
import { buildAudit, type Audit } from "../respond/audit.js";
import { pixelPreview, type PixelPreview } from "./pixel-preview.js";
import { usRegions, type UsRegions } from "../pixel/us-regions.js";
import { readPart10 } from "../dicom/part10.js";
import { tagOf } from "../dicom/tag.js";
import type { UploadPart } from "../upload/limits.js";
import type { InstanceInfo, SessionMeta, SessionStore, SwapOptions, Version } from "./store.js";

export interface SessionLimits {
  readonly ttlSeconds: number;
  readonly maxSessionBytes: number;
  readonly maxStoreBytes: number;
}

export interface Rejected {
  readonly index: number;
  readonly reason: string;
}

export interface StagedOutput {
  /** Position in the session's instances (and in its audit). */
  readonly position: number;
  readonly sopInstanceUID: string;
  readonly data: Buffer;
}

/** What a destination said about the instances it was sent (see src/dicomweb/stow-client.ts). */
export interface Delivery {
  readonly stored: ReadonlySet<string>;
}

const insufficientStorage = (detail: string) => new HttpProblem(507, "Insufficient Storage", detail);
const busy = () =>
  conflict("another commit, apply or revert of this session is in progress; retry when it is done");

/** How long a blob waits for the swap that references it (an upload cut short leaves no PHI for long). */
const PENDING_MS = 5 * 60_000;
/** A commit or apply holds the session's lease this long past its last renewal (a dead replica frees it). */
const LEASE_MS = 30_000;
/** Swaps retried after a conflict (concurrent adds to one session). */
const SWAP_ATTEMPTS = 200;

const blobKey = (kind: "o" | "s" | "a") => `${kind}-${crypto.randomBytes(12).toString("base64url")}`;

const withoutStaged = (i: InstanceInfo): InstanceInfo => {
  const { staged: _s, acknowledged: _a, ...rest } = i;
  return rest;
};

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

  /** The expiry of a blob not yet referenced by the metadata. */
  private pending(sessionExpiry?: string): string {
    const cap = sessionExpiry ? Date.parse(sessionExpiry) : Date.now() + this.limits.ttlSeconds * 1000;
    return new Date(Math.min(Date.now() + PENDING_MS, cap)).toISOString();
  }

  /**
   * Best effort: what a failed request wrote goes now, or (the store being down) as soon as it
   * answers again, and at the latest when its short expiry passes.
   */
  private discard(id: string, keys: readonly string[], session: boolean): void {
    const until = Date.now() + PENDING_MS;
    const attempt = async (): Promise<void> => {
      try {
        if (session) await this.store.delete(id);
        await this.store.deleteBlobs(id, keys);
      } catch {
        if (Date.now() < until) setTimeout(() => void attempt(), 1000).unref();
      }
    };
    void attempt();
  }

  /** Runs `work` holding the session's lease: one commit, apply or revert at a time per session. */
  private async withLease<T>(id: string, work: (lease: string) => Promise<T>): Promise<T> {
    const token = crypto.randomBytes(12).toString("base64url");
    if (!(await this.store.acquireLease(id, token, LEASE_MS))) throw busy();
    const renew = setInterval(
      () => void this.store.renewLease(id, token, LEASE_MS).catch(() => undefined),
      LEASE_MS / 3,
    );
    renew.unref();
    try {
      return await work(token);
    } finally {
      clearInterval(renew);
      await this.store.releaseLease(id, token).catch(() => undefined);
    }
  }

  /** A swap the caller expects to succeed (it holds the lease, or the id is new). */
  private async swap(next: SessionMeta, expected: number | undefined, options: SwapOptions): Promise<void> {
    const result = await this.store.swapMeta(next, expected, options);
    if (result === "gone") throw notFound("no such session (it may have expired)");
    if (result === "leased") throw busy();
    if (result === "conflict") throw conflict("the session changed meanwhile; retry");
  }

  /** New session: the instances are stored first, the metadata last (only then does it exist). */
  async create(
    parts: AsyncIterable<UploadPart>,
    owner: string | null,
  ): Promise<{ meta: SessionMeta; rejected: Rejected[] }> {
    const id = SessionService.newId();
    const instances: InstanceInfo[] = [];
    const rejected: Rejected[] = [];
    const written: string[] = [];
    let bytes = 0;
    let offered = 0;
    let pendingUntil = this.pending();
    try {
      for await (const part of parts) {
        const index = offered++;
        const info = describe(part.data, instances.length);
        if ("reason" in info) {
          rejected.push({ index, reason: info.reason });
          continue;
        }
        await this.checkRoom(bytes, part.data.length, bytes);
        const key = blobKey("o");
        written.push(key);
        // A long upload: keep what arrived first from expiring before the metadata references it.
        if (Date.parse(pendingUntil) - Date.now() < PENDING_MS / 2) {
          pendingUntil = this.pending();
          await this.store.touchBlobs(id, written, pendingUntil);
        }
        await this.store.putBlob(id, key, part.data, pendingUntil);
        instances.push({ ...info, original: key });
        bytes += part.data.length;
      }
      if (instances.length === 0) throw unprocessable("no instance could be read", { rejected });
      const now = new Date().toISOString();
      const meta: SessionMeta = {
        id,
        version: 1,
        owner,
        createdAt: now,
        expiresAt: this.expiry(),
        state: "open",
        profile: null,
        instances,
        bytes,
        stagedBytes: 0,
      };
      await this.swap(meta, undefined, {});
      return { meta, rejected };
    } catch (error) {
      this.discard(id, written, true);
      throw error;
    }
  }

  /** 413 / 507 when `adding` bytes would not fit (`pendingInStore`: this request's, not yet counted). */
  private async checkRoom(sessionBytes: number, adding: number, pendingInStore: number): Promise<void> {
    if (sessionBytes + adding > this.limits.maxSessionBytes)
      throw payloadTooLarge(
        `the session would hold more than ${this.limits.maxSessionBytes} bytes (MAX_SESSION_BYTES)`,
      );
    if ((await this.store.totalBytes()) + pendingInStore + adding > this.limits.maxStoreBytes)
      throw insufficientStorage(`the session store is full (MAX_STORE_BYTES); commit or delete sessions`);
  }

  /** Each instance is added by its own swap, retried over concurrent adds: none is lost. */
  async add(
    id: string,
    owner: string | null,
    parts: AsyncIterable<UploadPart>,
  ): Promise<{ meta: SessionMeta; rejected: Rejected[] }> {
    let meta = this.addable(await this.get(id, owner));
    const rejected: Rejected[] = [];
    let offered = meta.instances.length;
    for await (const part of parts) {
      const index = offered++;
      const info = describe(part.data, 0);
      if ("reason" in info) {
        rejected.push({ index, reason: info.reason });
        continue;
      }
      const key = blobKey("o");
      try {
        await this.checkRoom(meta.bytes, part.data.length, 0);
        await this.store.putBlob(id, key, part.data, this.pending());
        meta = await this.addOne(meta, { ...info, original: key });
      } catch (error) {
        this.discard(id, [key], false);
        throw error;
      }
    }
    return { meta, rejected };
  }

  private addable(meta: SessionMeta): SessionMeta {
    if (meta.state === "committed") throw conflict("the session is committed; open a new one");
    if (meta.instances.some((i) => !i.original))
      throw conflict("the session holds de-identified instances only (kept from a STOW-RS forward)");
    if (meta.instances.some((i) => i.acknowledged))
      throw conflict("the session was partly forwarded; commit the rest or delete it");
    return meta;
  }

  private async addOne(first: SessionMeta, info: InstanceInfo): Promise<SessionMeta> {
    let meta = first;
    for (let attempt = 0; attempt < SWAP_ATTEMPTS; attempt++) {
      if (attempt > 0) {
        const fresh = await this.store.getMeta(meta.id);
        if (!fresh) throw notFound("no such session (it may have expired)");
        meta = this.addable(fresh);
        if (meta.bytes + info.bytes > this.limits.maxSessionBytes)
          throw payloadTooLarge(
            `the session would hold more than ${this.limits.maxSessionBytes} bytes (MAX_SESSION_BYTES)`,
          );
      }
      // New originals invalidate a staged result: it would not cover them.
      const applied = meta.state === "applied";
      const next: SessionMeta = {
        ...meta,
        version: meta.version + 1,
        expiresAt: this.expiry(),
        state: "open",
        profile: applied ? null : meta.profile,
        instances: [
          ...(applied ? meta.instances.map(withoutStaged) : meta.instances),
          { ...info, index: meta.instances.length },
        ],
        audit: applied ? undefined : meta.audit,
        bytes: meta.bytes - (applied ? meta.stagedBytes : 0) + info.bytes,
        stagedBytes: applied ? 0 : meta.stagedBytes,
      };
      const drop = applied ? stagedBlobs(meta) : [];
      const result = await this.store.swapMeta(next, meta.version, { drop });
      if (result === "ok") return next;
      if (result === "gone") throw notFound("no such session (it may have expired)");
      if (result === "leased") throw busy();
      // conflict: another add won; re-read and go again after a short, random pause.
      await new Promise((r) => setTimeout(r, Math.random() * Math.min(50, 2 * attempt)));
    }
    throw busy();
  }

  async get(id: string, owner: string | null): Promise<SessionMeta> {
    const meta = await this.store.getMeta(id);
    // Someone else's session is as absent as no session at all.
    if (!meta || meta.owner !== owner) throw notFound("no such session (it may have expired)");
    return meta;
  }

  private async runAll(meta: SessionMeta, choice: ProfileChoice): Promise<InstanceOutcome[]> {
    if (meta.state === "committed") throw conflict("the session is committed: its originals are gone");
    if (meta.instances.some((i) => !i.original))
      throw conflict("the session holds de-identified instances only (kept from a STOW-RS forward)");
    return Promise.all(
      meta.instances.map(async (info) => {
        const original = await this.store.getBlob(meta.id, info.original!);
        if (!original) throw notFound("the session's originals have expired");
        return this.engine.anonymize(original, choice.ref);
      }),
    );
  }

  /**
   * A dry run: every change with before and after; nothing is staged. Under a profile with a pixel
   * step, `pixel` lists the boxes each scanned instance gets, per frame.
   */
  async preview(
    id: string,
    owner: string | null,
    choice: ProfileChoice,
  ): Promise<Audit & { changesByAction: Record<string, number>; pixel?: PixelPreview }> {
    const meta = await this.get(id, owner);
    const outcomes = await this.runAll(meta, choice);
    const audit = buildAudit(choice.plan, outcomes, true);
    if (!choice.plan.pixel) return { ...audit, changesByAction: countByAction(audit) };
    // The US regions of the instances the step ran on, read from their originals' headers.
    const regions = new Map<number, UsRegions | undefined>();
    for (const { index } of pixelPreview(outcomes).instances) {
      const info = meta.instances.find((i) => i.index === index);
      const original = info?.original ? await this.store.getBlob(meta.id, info.original) : undefined;
      if (original) regions.set(index, regionsOf(original));
    }
    return {
      ...audit,
      changesByAction: countByAction(audit),
      pixel: pixelPreview(outcomes, (index) => regions.get(index)),
    };
  }

  /**
   * Stages the de-identified copies, replacing a previous result. Originals plus staged copies must
   * fit MAX_SESSION_BYTES (413) and the store MAX_STORE_BYTES (507); if not, the session is as it was.
   */
  async apply(
    id: string,
    owner: string | null,
    choice: ProfileChoice,
  ): Promise<{ meta: SessionMeta; audit: Audit }> {
    await this.get(id, owner);
    return this.withLease(id, async (lease) => {
      const meta = this.addable(await this.get(id, owner));
      const outcomes = await this.runAll(meta, choice);
      const staged = outcomes.reduce((n, o) => n + (o.status === "anonymized" ? o.output.length : 0), 0);
      const originals = meta.bytes - meta.stagedBytes;
      if (originals + staged > this.limits.maxSessionBytes)
        throw payloadTooLarge(
          `originals and staged copies together would hold more than ${this.limits.maxSessionBytes} bytes (MAX_SESSION_BYTES)`,
        );
      if ((await this.store.totalBytes()) - meta.stagedBytes + staged > this.limits.maxStoreBytes)
        throw insufficientStorage("the session store is full (MAX_STORE_BYTES); commit or delete sessions");
      const audit = buildAudit(choice.plan, outcomes, true);
      const written: string[] = [];
      try {
        const until = this.pending(meta.expiresAt);
        const instances: InstanceInfo[] = [];
        for (const [i, o] of outcomes.entries()) {
          const info = withoutStaged(meta.instances[i]!);
          if (o.status !== "anonymized") {
            instances.push(info);
            continue;
          }
          const key = blobKey("s");
          written.push(key);
          await this.store.putBlob(meta.id, key, o.output, until);
          instances.push({ ...info, staged: key });
        }
        const auditKey = blobKey("a");
        written.push(auditKey);
        await this.store.putBlob(meta.id, auditKey, Buffer.from(JSON.stringify(audit)), until);
        const next: SessionMeta = {
          ...meta,
          version: meta.version + 1,
          state: "applied",
          profile: audit.profile,
          instances,
          audit: auditKey,
          bytes: originals + staged,
          stagedBytes: staged,
        };
        await this.swap(next, meta.version, { lease, drop: stagedBlobs(meta) });
        return { meta: next, audit };
      } catch (error) {
        this.discard(meta.id, written, false);
        throw error;
      }
    });
  }

  async revert(id: string, owner: string | null): Promise<SessionMeta> {
    await this.get(id, owner);
    return this.withLease(id, async (lease) => {
      const meta = await this.get(id, owner);
      if (meta.state === "committed") throw conflict("the session is committed: nothing to revert to");
      if (meta.state !== "applied") return meta;
      this.addable(meta);
      const next: SessionMeta = {
        ...meta,
        version: meta.version + 1,
        state: "open",
        profile: null,
        instances: meta.instances.map(withoutStaged),
        audit: undefined,
        bytes: meta.bytes - meta.stagedBytes,
        stagedBytes: 0,
      };
      await this.swap(next, meta.version, { lease, drop: stagedBlobs(meta) });
      return next;
    });
  }

  /** The staged result: the audit and each de-identified instance (in the audit's order). */
  async staged(
    id: string,
    owner: string | null,
  ): Promise<{ meta: SessionMeta; audit: Audit; outputs: StagedOutput[] }> {
    const { meta, audit } = await this.stagedAudit(id, owner);
    const outputs: StagedOutput[] = [];
    for (const [i, instance] of audit.instances.entries()) {
      if (instance.status !== "anonymized") continue;
      outputs.push({
        position: i,
        sopInstanceUID: instance.sopInstanceUID!,
        data: await this.stagedBlob(meta, i),
      });
    }
    return { meta, audit, outputs };
  }

  /** The session and its staged audit; 409 when nothing is staged, 404 when it expired. */
  private async stagedAudit(id: string, owner: string | null): Promise<{ meta: SessionMeta; audit: Audit }> {
    const meta = await this.get(id, owner);
    if (meta.state === "open")
      throw conflict("nothing is staged: POST /sessions/{id}/apply?profile=<name> first");
    const text = meta.audit ? await this.store.getBlob(meta.id, meta.audit) : undefined;
    if (!text) throw notFound("the staged result has expired");
    return { meta, audit: JSON.parse(text.toString("utf8")) as Audit };
  }

  /** The staged copy of the instance at `position`; 404 when it expired. */
  private async stagedBlob(meta: SessionMeta, position: number): Promise<Buffer> {
    const key = meta.instances[position]?.staged;
    const data = key ? await this.store.getBlob(meta.id, key) : undefined;
    if (!data) throw notFound("the staged result has expired");
    return data;
  }

  /**
   * Hands out the staged result; the originals are dropped. A commit without apply is a 409, and so
   * is one while another commit or apply of the session runs.
   */
  async commit(
    id: string,
    owner: string | null,
  ): Promise<{ meta: SessionMeta; audit: Audit; outputs: StagedOutput[] }> {
    await this.get(id, owner);
    return this.withLease(id, async (lease) => {
      const result = await this.staged(id, owner);
      if (result.outputs.length === 0)
        throw unprocessable("no instance of the session could be de-identified under the applied profile");
      return { ...result, meta: await this.markCommitted(result.meta, result.audit, lease) };
    });
  }

  /**
   * commit?destination=: under the lease, sends the staged instances the destination has not
   * acknowledged yet, records what it acknowledges, and commits once it has them all. `send` may
   * throw (after recording what it reports stored, the error is passed on).
   */
  async forward(
    id: string,
    owner: string | null,
    send: (outputs: readonly StagedOutput[]) => Promise<Delivery>,
  ): Promise<{ meta: SessionMeta; audit: Audit; outputs: StagedOutput[]; sent: StagedOutput[] }> {
    await this.get(id, owner);
    return this.withLease(id, async (lease) => {
      const { meta, audit, outputs } = await this.staged(id, owner);
      if (meta.state === "committed")
        throw conflict("the session is already committed; its instances were sent");
      if (outputs.length === 0) throw badRequest("nothing staged to forward");
      const sent = outputs.filter((o) => !meta.instances[o.position]!.acknowledged);
      // Nothing left to send (a previous attempt was acknowledged in full but stopped before
      // committing): only the commit is left to do.
      const delivery: Delivery = sent.length > 0 ? await send(sent) : { stored: new Set() };
      const acknowledged = new Set(
        sent.filter((o) => delivery.stored.has(o.sopInstanceUID)).map((o) => o.position),
      );
      let next = meta;
      if (acknowledged.size > 0) {
        next = {
          ...meta,
          version: meta.version + 1,
          instances: meta.instances.map((info, i) =>
            acknowledged.has(i) ? { ...info, acknowledged: true } : info,
          ),
        };
        await this.swap(next, meta.version, { lease });
      }
      if (outputs.every((o) => next.instances[o.position]!.acknowledged))
        next = await this.markCommitted(next, audit, lease);
      return { meta: next, audit, outputs, sent };
    });
  }

  /**
   * Originals go, and so do the audit's before values (they are PHI too); the listing then names
   * the de-identified instances. Idempotent.
   */
  private async markCommitted(meta: SessionMeta, audit: Audit, lease: string): Promise<SessionMeta> {
    if (meta.state === "committed") return meta;
    const drop = meta.instances.flatMap((i) => (i.original ? [i.original] : []));
    if (meta.audit) drop.push(meta.audit);
    const auditKey = blobKey("a");
    const instances = meta.instances.map(({ original: _o, ...info }, i) => ({
      ...info,
      sopInstanceUID: audit.instances[i]?.sopInstanceUID ?? "",
    }));
    const next: SessionMeta = {
      ...meta,
      version: meta.version + 1,
      state: "committed",
      instances,
      audit: auditKey,
      bytes: meta.stagedBytes,
    };
    try {
      await this.store.putBlob(
        meta.id,
        auditKey,
        Buffer.from(JSON.stringify(withoutBefore(audit))),
        this.pending(meta.expiresAt),
      );
      await this.swap(next, meta.version, { lease, drop });
    } catch (error) {
      this.discard(meta.id, [auditKey], false);
      throw error;
    }
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
    const id = SessionService.newId();
    const bytes = instances.reduce((n, i) => n + i.outcome.output.length, 0);
    if ((await this.store.totalBytes()) + bytes > this.limits.maxStoreBytes)
      throw insufficientStorage("the session store is full (MAX_STORE_BYTES)");
    const written: string[] = [];
    try {
      const until = this.pending();
      const infos: InstanceInfo[] = [];
      for (const [index, { outcome, modality }] of instances.entries()) {
        const key = blobKey("s");
        written.push(key);
        await this.store.putBlob(id, key, outcome.output, until);
        infos.push({
          index,
          sopInstanceUID: outcome.sopInstanceUID,
          sopClassUID: outcome.sopClassUID,
          modality,
          bytes: outcome.output.length,
          staged: key,
        });
      }
      const auditKey = blobKey("a");
      written.push(auditKey);
      await this.store.putBlob(id, auditKey, Buffer.from(JSON.stringify(audit)), until);
      const meta: SessionMeta = {
        id,
        version: 1,
        owner,
        createdAt: new Date().toISOString(),
        expiresAt: this.expiry(),
        state: "applied",
        profile: audit.profile,
        instances: infos,
        audit: auditKey,
        bytes,
        stagedBytes: bytes,
      };
      await this.swap(meta, undefined, {});
      return meta;
    } catch (error) {
      this.discard(id, written, true);
      throw error;
    }
  }

  /**
   * The staged copy whose new SOP Instance UID is `sop`, found through the staged audit: one blob
   * is read, not all of them. Undefined when no staged instance has it.
   */
  async stagedInstance(id: string, owner: string | null, sop: string): Promise<Buffer | undefined> {
    const { meta, audit } = await this.stagedAudit(id, owner);
    const position = audit.instances.findIndex((i) => i.status === "anonymized" && i.sopInstanceUID === sop);
    return position < 0 ? undefined : this.stagedBlob(meta, position);
  }

  async instance(id: string, owner: string | null, index: number, version: Version): Promise<Buffer> {
    const meta = await this.get(id, owner);
    const info = meta.instances.find((i) => i.index === index);
    if (!info) throw notFound("the session has no instance at this index");
    const key = info[version];
    const data = key ? await this.store.getBlob(meta.id, key) : undefined;
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
    await this.store.delete(meta.id);
  }
}

/** The staged copies' and audit's blob keys. */
function stagedBlobs(meta: SessionMeta): string[] {
  const keys = meta.instances.flatMap((i) => (i.staged ? [i.staged] : []));
  if (meta.audit) keys.push(meta.audit);
  return keys;
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

/** The audit without original values. */
export function withoutBefore(audit: Audit): Audit {
  return {
    ...audit,
    instances: audit.instances.map((i) => ({ ...i, changes: i.changes.map(({ before: _b, ...c }) => c) })),
  };
}

function countByAction(audit: Audit): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const i of audit.instances) for (const c of i.changes) counts[c.action] = (counts[c.action] ?? 0) + 1;
  return counts;
}

/** The US regions of an instance against its own Rows and Columns; undefined when it has none. */
function regionsOf(input: Buffer): UsRegions | undefined {
  try {
    const { dataset, transferSyntax } = readPart10(input);
    const le = transferSyntax.encoding.littleEndian;
    const us = (tag: number): number => {
      const v = dataset.find((e) => e.tag === tag)?.value;
      return v && v.length >= 2 ? new DataView(v.buffer, v.byteOffset, 2).getUint16(0, le) : 0;
    };
    return usRegions(dataset, us(tagOf(0x0028, 0x0010)), us(tagOf(0x0028, 0x0011)), le);
  } catch {
    return undefined; // the engine already ran on it; a header that does not parse has no regions to show
  }
}
