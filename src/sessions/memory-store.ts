/** The in-memory session store: the default. Expired sessions are swept on a timer and on access. */
import type { SessionMeta, SessionStore, Version } from "./store.js";

interface Entry {
  meta: SessionMeta;
  original: Map<number, Buffer>;
  staged: Map<number, Buffer>;
  audit?: string;
}

export class MemorySessionStore implements SessionStore {
  private readonly sessions = new Map<string, Entry>();
  private readonly timer: NodeJS.Timeout;

  constructor(
    sweepIntervalMs = 10_000,
    private readonly now: () => number = Date.now,
  ) {
    this.timer = setInterval(() => this.sweep(), sweepIntervalMs);
    this.timer.unref();
  }

  /** Drops expired sessions and their bytes. */
  sweep(): number {
    let dropped = 0;
    for (const [id, entry] of this.sessions) {
      if (Date.parse(entry.meta.expiresAt) <= this.now()) {
        this.sessions.delete(id);
        dropped++;
      }
    }
    return dropped;
  }

  private live(id: string): Entry | undefined {
    const entry = this.sessions.get(id);
    if (entry && Date.parse(entry.meta.expiresAt) <= this.now()) {
      this.sessions.delete(id);
      return undefined;
    }
    return entry;
  }

  async putMeta(meta: SessionMeta): Promise<void> {
    const entry = this.live(meta.id);
    if (entry) entry.meta = meta;
    else this.sessions.set(meta.id, { meta, original: new Map(), staged: new Map() });
  }

  async getMeta(id: string): Promise<SessionMeta | undefined> {
    return this.live(id)?.meta;
  }

  async putInstance(id: string, version: Version, index: number, data: Buffer): Promise<void> {
    this.live(id)?.[version].set(index, data);
  }

  async getInstance(id: string, version: Version, index: number): Promise<Buffer | undefined> {
    return this.live(id)?.[version].get(index);
  }

  async putAudit(id: string, audit: string): Promise<void> {
    const entry = this.live(id);
    if (entry) entry.audit = audit;
  }

  async getAudit(id: string): Promise<string | undefined> {
    return this.live(id)?.audit;
  }

  async deleteVersion(id: string, version: Version): Promise<void> {
    const entry = this.live(id);
    if (!entry) return;
    entry[version].clear();
    if (version === "staged") entry.audit = undefined;
  }

  async delete(id: string): Promise<void> {
    this.sessions.delete(id);
  }

  async totalBytes(): Promise<number> {
    this.sweep();
    let total = 0;
    for (const entry of this.sessions.values()) total += entry.meta.bytes;
    return total;
  }

  async ready(): Promise<boolean> {
    return true;
  }

  async close(): Promise<void> {
    clearInterval(this.timer);
    this.sessions.clear();
  }
}
