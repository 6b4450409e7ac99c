/**
 * The Redis session store (ioredis), so replicas behind a load balancer share sessions. Every key
 * of a session carries an expiry (PXAT), so Redis itself sweeps expired sessions and orphaned blobs.
 * The metadata swap, the delete and the lease are Lua scripts: atomic across replicas. When Redis
 * does not answer, every method throws StoreUnavailable (503 + Retry-After).
 */
import { Redis } from "ioredis";
import {
  blobsOf,
  StoreUnavailable,
  type SessionMeta,
  type SessionStore,
  type SwapOptions,
  type SwapResult,
} from "./store.js";

const PREFIX = "dwanon:session:";
/** Bytes per live session (hash) and their expiry (sorted set), for the global limit. */
const BYTES = "dwanon:session-bytes";
const EXPIRY = "dwanon:session-expiry";

const metaKey = (id: string) => `${PREFIX}${id}:meta`;
const leaseKey = (id: string) => `${PREFIX}${id}:lease`;
const blobPrefix = (id: string) => `${PREFIX}${id}:blob:`;

/** KEYS: meta, lease, bytes, expiry. ARGV: meta JSON, expected version ('' = must not exist),
 * lease token, expiresAt ms, id, bytes, blob prefix, kept keys (JSON), dropped keys (JSON). */
const SWAP = `
local current = redis.call('GET', KEYS[1])
if ARGV[2] == '' then
  if current then return 'conflict' end
else
  if not current then return 'gone' end
  if tostring(cjson.decode(current).version) ~= ARGV[2] then return 'conflict' end
end
local holder = redis.call('GET', KEYS[2])
if holder and holder ~= ARGV[3] then return 'leased' end
redis.call('SET', KEYS[1], ARGV[1], 'PXAT', ARGV[4])
for _, key in ipairs(cjson.decode(ARGV[8])) do redis.call('PEXPIREAT', ARGV[7] .. key, ARGV[4]) end
for _, key in ipairs(cjson.decode(ARGV[9])) do redis.call('DEL', ARGV[7] .. key) end
redis.call('ZADD', KEYS[4], ARGV[4], ARGV[5])
redis.call('HSET', KEYS[3], ARGV[5], ARGV[6])
return 'ok'
`;

/** KEYS: meta, lease, bytes, expiry. ARGV: id, blob prefix. */
const DELETE = `
local current = redis.call('GET', KEYS[1])
if current then
  local meta = cjson.decode(current)
  for _, i in ipairs(meta.instances) do
    if type(i.original) == 'string' then redis.call('DEL', ARGV[2] .. i.original) end
    if type(i.staged) == 'string' then redis.call('DEL', ARGV[2] .. i.staged) end
  end
  if type(meta.audit) == 'string' then redis.call('DEL', ARGV[2] .. meta.audit) end
end
redis.call('DEL', KEYS[1], KEYS[2])
redis.call('ZREM', KEYS[4], ARGV[1])
redis.call('HDEL', KEYS[3], ARGV[1])
return 1
`;

/** KEYS: lease. ARGV: token, ttl ms ('' = release). */
const LEASE = `
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
if ARGV[2] == '' then redis.call('DEL', KEYS[1]) else redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
return 1
`;

type Scripts = Redis & {
  swapMeta(...args: Array<string | number>): Promise<string>;
  deleteSession(...args: Array<string | number>): Promise<number>;
  ownLease(...args: Array<string | number>): Promise<number>;
};

export class RedisSessionStore implements SessionStore {
  private readonly redis: Scripts;
  /** Connected once: from then on, a lost connection fails commands at once (no queueing). */
  private connected = false;

  constructor(url: string) {
    const redis = new Redis(url, {
      lazyConnect: false,
      // A command waits for one reconnection attempt at most, then fails: a session route answers
      // 503 within a second or so instead of hanging while Redis is down.
      maxRetriesPerRequest: 1,
      enableOfflineQueue: true,
      retryStrategy: (times) => Math.min(times * 100, 1000),
      // Redis stopped answering (not refusing): give up rather than hold the request.
      commandTimeout: 15_000,
    });
    redis.defineCommand("swapMeta", { numberOfKeys: 4, lua: SWAP });
    redis.defineCommand("deleteSession", { numberOfKeys: 4, lua: DELETE });
    redis.defineCommand("ownLease", { numberOfKeys: 1, lua: LEASE });
    this.redis = redis as Scripts;
    // Connection errors surface through /readyz and the failing commands; the event itself carries
    // nothing a log needs (and ioredis prints unhandled ones).
    this.redis.on("error", () => undefined);
    this.redis.on("ready", () => (this.connected = true));
  }

  /** Redis errors that mean "not answering" become 503; a reply error (a bug) stays a 500. */
  private async run<T>(command: () => Promise<T>): Promise<T> {
    // Known down (it was up and the connection is lost): answer now rather than wait for a reconnect.
    if (this.connected && this.redis.status !== "ready") throw new StoreUnavailable();
    try {
      return await command();
    } catch (error) {
      if (error instanceof Error && error.name === "ReplyError") throw error;
      throw new StoreUnavailable();
    }
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

  async putBlob(id: string, key: string, data: Buffer, expiresAt: string): Promise<void> {
    await this.run(() => this.redis.set(blobPrefix(id) + key, data, "PXAT", Date.parse(expiresAt)));
  }

  async getBlob(id: string, key: string): Promise<Buffer | undefined> {
    return (await this.run(() => this.redis.getBuffer(blobPrefix(id) + key))) ?? undefined;
  }

  async touchBlobs(id: string, keys: readonly string[], expiresAt: string): Promise<void> {
    if (keys.length === 0) return;
    const at = Date.parse(expiresAt);
    const multi = this.redis.multi();
    for (const key of keys) multi.pexpireat(blobPrefix(id) + key, at);
    await this.run(() => multi.exec());
  }

  async deleteBlobs(id: string, keys: readonly string[]): Promise<void> {
    if (keys.length > 0) await this.run(() => this.redis.del(...keys.map((k) => blobPrefix(id) + k)));
  }

  async getMeta(id: string): Promise<SessionMeta | undefined> {
    const text = await this.run(() => this.redis.get(metaKey(id)));
    return text ? (JSON.parse(text) as SessionMeta) : undefined;
  }

  async swapMeta(
    meta: SessionMeta,
    expected: number | undefined,
    options: SwapOptions = {},
  ): Promise<SwapResult> {
    const result = await this.run(() =>
      this.redis.swapMeta(
        metaKey(meta.id),
        leaseKey(meta.id),
        BYTES,
        EXPIRY,
        JSON.stringify(meta),
        expected === undefined ? "" : String(expected),
        options.lease ?? "",
        Date.parse(meta.expiresAt),
        meta.id,
        meta.bytes,
        blobPrefix(meta.id),
        JSON.stringify(blobsOf(meta)),
        JSON.stringify(options.drop ?? []),
      ),
    );
    return result as SwapResult;
  }

  async delete(id: string): Promise<void> {
    await this.run(() =>
      this.redis.deleteSession(metaKey(id), leaseKey(id), BYTES, EXPIRY, id, blobPrefix(id)),
    );
  }

  async acquireLease(id: string, token: string, ttlMs: number): Promise<boolean> {
    return (await this.run(() => this.redis.set(leaseKey(id), token, "PX", ttlMs, "NX"))) === "OK";
  }

  async renewLease(id: string, token: string, ttlMs: number): Promise<boolean> {
    return (await this.run(() => this.redis.ownLease(leaseKey(id), token, ttlMs))) === 1;
  }

  async releaseLease(id: string, token: string): Promise<void> {
    await this.run(() => this.redis.ownLease(leaseKey(id), token, ""));
  }

  async totalBytes(): Promise<number> {
    return this.run(async () => {
      const expired = await this.redis.zrangebyscore(EXPIRY, 0, Date.now());
      if (expired.length > 0)
        await this.redis
          .multi()
          .zrem(EXPIRY, ...expired)
          .hdel(BYTES, ...expired)
          .exec();
      return (await this.redis.hvals(BYTES)).reduce((n, v) => n + Number(v), 0);
    });
  }

  async close(): Promise<void> {
    await this.redis.quit().catch(() => this.redis.disconnect());
  }
}
