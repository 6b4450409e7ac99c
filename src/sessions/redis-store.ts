/**
 * The Redis session store (ioredis), so replicas behind a load balancer share sessions. Every key
 * of a session carries the session's expiry (PEXPIREAT), so Redis itself sweeps expired sessions.
 */
import { Redis } from "ioredis";
import type { SessionMeta, SessionStore, Version } from "./store.js";

const PREFIX = "dwanon:session:";
/** Bytes per live session (hash) and their expiry (sorted set), for the global limit. */
const BYTES = "dwanon:session-bytes";
const EXPIRY = "dwanon:session-expiry";

const metaKey = (id: string) => `${PREFIX}${id}:meta`;
const auditKey = (id: string) => `${PREFIX}${id}:audit`;
const instanceKey = (id: string, version: Version, index: number) => `${PREFIX}${id}:${version}:${index}`;

export class RedisSessionStore implements SessionStore {
  private readonly redis: Redis;

  constructor(url: string) {
    this.redis = new Redis(url, { lazyConnect: false, maxRetriesPerRequest: 2, enableOfflineQueue: true });
    // Connection errors surface through /readyz and the failing commands; the event itself carries
    // nothing a log needs (and ioredis prints unhandled ones).
    this.redis.on("error", () => undefined);
  }

  async ready(): Promise<boolean> {
    const timeout = new Promise<boolean>((resolve) => setTimeout(() => resolve(false), 1000).unref());
    return Promise.race([
      this.redis.ping().then(
        () => true,
        () => false,
      ),
      timeout,
    ]);
  }

  async putMeta(meta: SessionMeta): Promise<void> {
    const expires = Date.parse(meta.expiresAt);
    await this.redis
      .multi()
      .set(metaKey(meta.id), JSON.stringify(meta), "PXAT", expires)
      .zadd(EXPIRY, expires, meta.id)
      .hset(BYTES, meta.id, meta.bytes)
      .exec();
  }

  async getMeta(id: string): Promise<SessionMeta | undefined> {
    const text = await this.redis.get(metaKey(id));
    return text ? (JSON.parse(text) as SessionMeta) : undefined;
  }

  async putInstance(
    id: string,
    version: Version,
    index: number,
    data: Buffer,
    expiresAt: string,
  ): Promise<void> {
    await this.redis.set(instanceKey(id, version, index), data, "PXAT", Date.parse(expiresAt));
  }

  async getInstance(id: string, version: Version, index: number): Promise<Buffer | undefined> {
    return (await this.redis.getBuffer(instanceKey(id, version, index))) ?? undefined;
  }

  async putAudit(id: string, audit: string, expiresAt: string): Promise<void> {
    await this.redis.set(auditKey(id), audit, "PXAT", Date.parse(expiresAt));
  }

  async getAudit(id: string): Promise<string | undefined> {
    return (await this.redis.get(auditKey(id))) ?? undefined;
  }

  async deleteVersion(id: string, version: Version, count: number): Promise<void> {
    const keys = Array.from({ length: count }, (_, i) => instanceKey(id, version, i));
    if (version === "staged") keys.push(auditKey(id));
    if (keys.length > 0) await this.redis.del(...keys);
  }

  async delete(id: string, count: number): Promise<void> {
    const keys = [metaKey(id), auditKey(id)];
    for (let i = 0; i < count; i++) keys.push(instanceKey(id, "original", i), instanceKey(id, "staged", i));
    await this.redis
      .multi()
      .del(...keys)
      .zrem(EXPIRY, id)
      .hdel(BYTES, id)
      .exec();
  }

  async totalBytes(): Promise<number> {
    const expired = await this.redis.zrangebyscore(EXPIRY, 0, Date.now());
    if (expired.length > 0)
      await this.redis
        .multi()
        .zrem(EXPIRY, ...expired)
        .hdel(BYTES, ...expired)
        .exec();
    return (await this.redis.hvals(BYTES)).reduce((n, v) => n + Number(v), 0);
  }

  async close(): Promise<void> {
    await this.redis.quit().catch(() => this.redis.disconnect());
  }
}
