/**
 * The in-memory session store: the default. Expired sessions and blobs are swept on a timer and on
 * access. Every method's check-and-write runs without an await in between, so on one event loop a
 * swap is atomic: that is the per-session serialisation.
 */
import { blobsOf, type SessionMeta, type SessionStore, type SwapOptions, type SwapResult } from "./store.js";

interface Blob {
  data: Buffer;
  expiresAt: number;
}

interface Lease {
  token: string;
  until: number;
}

export class MemorySessionStore implements SessionStore {
  private readonly sessions = new Map<string, SessionMeta>();
  /** By `${id}\n${key}`. */
  private readonly blobs = new Map<string, Blob>();
  private readonly leases = new Map<string, Lease>();
  private readonly timer: NodeJS.Timeout;

  constructor(
    sweepIntervalMs = 10_000,
    private readonly now: () => number = Date.now,
  ) {
    this.timer = setInterval(() => this.sweep(), sweepIntervalMs);
    this.timer.unref();
  }

  /** Drops expired sessions, blobs and leases; returns the sessions dropped. */
  sweep(): number {
    const now = this.now();
    let dropped = 0;
    for (const [id, meta] of this.sessions) {
      if (Date.parse(meta.expiresAt) <= now) {
        this.sessions.delete(id);
        dropped++;
      }
    }
    for (const [key, blob] of this.blobs) if (blob.expiresAt <= now) this.blobs.delete(key);
    for (const [id, lease] of this.leases) if (lease.until <= now) this.leases.delete(id);
    return dropped;
  }

  private live(id: string): SessionMeta | undefined {
    const meta = this.sessions.get(id);
    if (meta && Date.parse(meta.expiresAt) <= this.now()) {
      this.delete(id);
      return undefined;
    }
    return meta;
  }

  private holder(id: string): string | undefined {
    const lease = this.leases.get(id);
    if (lease && lease.until <= this.now()) {
      this.leases.delete(id);
      return undefined;
    }
    return lease?.token;
  }

  async putBlob(id: string, key: string, data: Buffer, expiresAt: string): Promise<void> {
    this.blobs.set(`${id}\n${key}`, { data, expiresAt: Date.parse(expiresAt) });
  }

  async getBlob(id: string, key: string): Promise<Buffer | undefined> {
    const blob = this.blobs.get(`${id}\n${key}`);
    return blob && blob.expiresAt > this.now() ? blob.data : undefined;
  }

  async touchBlobs(id: string, keys: readonly string[], expiresAt: string): Promise<void> {
    for (const key of keys) {
      const blob = this.blobs.get(`${id}\n${key}`);
      if (blob) blob.expiresAt = Date.parse(expiresAt);
    }
  }

  async deleteBlobs(id: string, keys: readonly string[]): Promise<void> {
    for (const key of keys) this.blobs.delete(`${id}\n${key}`);
  }

  async getMeta(id: string): Promise<SessionMeta | undefined> {
    return this.live(id);
  }

  async swapMeta(
    meta: SessionMeta,
    expected: number | undefined,
    options: SwapOptions = {},
  ): Promise<SwapResult> {
    const current = this.live(meta.id);
    if (expected === undefined ? current !== undefined : current === undefined)
      return current ? "conflict" : "gone";
    if (current && current.version !== expected) return "conflict";
    const holder = this.holder(meta.id);
    if (holder !== undefined && holder !== options.lease) return "leased";
    this.sessions.set(meta.id, meta);
    const until = Date.parse(meta.expiresAt);
    for (const key of blobsOf(meta)) {
      const blob = this.blobs.get(`${meta.id}\n${key}`);
      if (blob) blob.expiresAt = until;
    }
    for (const key of options.drop ?? []) this.blobs.delete(`${meta.id}\n${key}`);
    return "ok";
  }

  async delete(id: string): Promise<void> {
    const meta = this.sessions.get(id);
    if (meta) for (const key of blobsOf(meta)) this.blobs.delete(`${id}\n${key}`);
    this.sessions.delete(id);
    this.leases.delete(id);
  }

  async acquireLease(id: string, token: string, ttlMs: number): Promise<boolean> {
    if (this.holder(id) !== undefined) return false;
    this.leases.set(id, { token, until: this.now() + ttlMs });
    return true;
  }

  async renewLease(id: string, token: string, ttlMs: number): Promise<boolean> {
    if (this.holder(id) !== token) return false;
    this.leases.set(id, { token, until: this.now() + ttlMs });
    return true;
  }

  async releaseLease(id: string, token: string): Promise<void> {
    if (this.holder(id) === token) this.leases.delete(id);
  }

  async totalBytes(): Promise<number> {
    let total = 0;
    for (const id of [...this.sessions.keys()]) total += this.live(id)?.bytes ?? 0;
    return total;
  }

  async ready(): Promise<boolean> {
    return true;
  }

  async close(): Promise<void> {
    clearInterval(this.timer);
    this.sessions.clear();
    this.blobs.clear();
    this.leases.clear();
  }
}
