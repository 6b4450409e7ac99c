/**
 * Configuration: the only reader of process.env. Every variable is validated once at start-up; a bad
 * value stops the process with the variable's name (never its value: a secret may be in it).
 */
import os from "node:os";

export interface Config {
  readonly port: number;
  readonly host: string;
  readonly logLevel: "fatal" | "error" | "warn" | "info" | "debug" | "trace" | "silent";
  /** Key for UID remapping, pseudonyms and date shifts; undefined means a random one per process. */
  readonly uidSecret: string | undefined;
  readonly defaultProfile: string;
  readonly profilesDir: string | undefined;
  readonly workers: number;
  /**
   * Threads of the text detector pool (src/pixel/detector-pool.ts), shared by the engine workers so
   * one cine's frames are detected on every core; 0: each engine worker detects in its own thread.
   */
  readonly detectorThreads: number;
  /** Requests being de-identified at once; more are answered 503 with Retry-After. */
  readonly maxConcurrentRequests: number;
  readonly maxParts: number;
  readonly maxPartBytes: number;
  readonly maxRequestBytes: number;
  readonly maxInflatedBytes: number;
  readonly requestTimeoutMs: number;
  /** Event-loop delay past which requests are answered 503 (@fastify/under-pressure); 0: no check. */
  readonly maxEventLoopDelayMs: number;
  /** Time allowed for a request's line and headers (node:http headersTimeout). */
  readonly headersTimeoutMs: number;
  /** A body must arrive at this average rate over each window of waiting for it (0: no minimum). */
  readonly minBodyRate: number;
  readonly bodyRateWindowMs: number;
  /** Bytes of bodies buffered by requests not yet admitted to a slot (503 past it). */
  readonly maxReceivingBytes: number;
  /** "memory", or a redis:// URL for a store that replicas share. */
  readonly sessionStore: string;
  readonly sessionTtlSeconds: number;
  readonly maxSessionBytes: number;
  readonly maxStoreBytes: number;
  /** Bearer tokens; when any are set, /anonymize and /sessions need one, and sessions belong to it. */
  readonly apiTokens: readonly string[];
  /** STOW-RS URL of the PACS that de-identified instances are forwarded to (destination "default"). */
  readonly destinationStowUrl: string | undefined;
  /** A header line sent to the destination, e.g. "Authorization: Bearer ..."; never logged. */
  readonly destinationAuthHeader: string | undefined;
  readonly destinationTimeoutMs: number;
  /** The forward deadline grows by one second per this many bytes sent (0: a fixed deadline). */
  readonly destinationMinRate: number;
  /**
   * Every named STOW-RS destination: "default" (DESTINATION_STOW_URL or DESTINATIONS) and those
   * DESTINATIONS lists. Auth headers are secrets: never logged or returned.
   */
  readonly destinations: readonly Endpoint[];
  /** Named DICOMweb servers jobs read from (QIDO-RS / WADO-RS base URLs), from SOURCES. */
  readonly sources: readonly Endpoint[];
  /** This replica consumes job units from the BullMQ queue (needs SESSION_STORE=redis://). */
  readonly jobs: boolean;
  /** A unit's lock: a replica silent this long is taken for dead and its unit given to another. */
  readonly jobLockMs: number;
  /** Attempts per unit (a destination or source that is down), with exponential back-off... */
  readonly jobAttempts: number;
  /** ...from this delay. */
  readonly jobBackoffMs: number;
  /** Jobs record original -> new UIDs and PatientIDs, readable with the job's token (re-identifies). */
  readonly mappingExport: boolean;
}

/** A named DICOMweb endpoint: a STOW-RS URL (destination) or a QIDO-RS/WADO-RS base URL (source). */
export interface Endpoint {
  readonly name: string;
  readonly url: string;
  /** A whole header line ("Authorization: Bearer ...") sent with every request; never logged. */
  readonly authHeader?: string;
  readonly timeoutMs: number;
  /** The deadline grows by a second per this many bytes sent (0: fixed). */
  readonly minBytesPerSecond: number;
}

export class ConfigError extends Error {}

type Env = Record<string, string | undefined>;

const MiB = 1024 * 1024;

function integer(
  env: Env,
  name: string,
  fallback: number,
  min: number,
  max = Number.MAX_SAFE_INTEGER,
): number {
  const raw = env[name];
  if (raw === undefined || raw === "") return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new ConfigError(`${name} must be an integer from ${min} to ${max}`);
  }
  return value;
}

/** Byte sizes accept a plain number or a unit: 512MiB, 2GiB, 100MB. */
function bytes(env: Env, name: string, fallback: number): number {
  const raw = env[name];
  if (raw === undefined || raw === "") return fallback;
  const m = /^(\d+)\s*(B|KB|KiB|MB|MiB|GB|GiB)?$/i.exec(raw.trim());
  if (!m) throw new ConfigError(`${name} must be a byte size such as 1048576, 512MiB or 2GiB`);
  const unit = (m[2] ?? "B").toLowerCase();
  const factor = { b: 1, kb: 1e3, kib: 1024, mb: 1e6, mib: MiB, gb: 1e9, gib: 1024 * MiB }[unit]!;
  const value = Number(m[1]) * factor;
  if (value < 1024) throw new ConfigError(`${name} must be at least 1KiB`);
  return value;
}

function sessionStore(env: Env): string {
  const value = env.SESSION_STORE ?? "memory";
  if (value === "memory" || value === "") return "memory";
  if (!/^rediss?:\/\/[^\s]+$/.test(value))
    throw new ConfigError('SESSION_STORE must be "memory" or a redis:// URL');
  return value;
}

function apiTokens(env: Env): string[] {
  const raw = env.API_TOKENS ?? "";
  const tokens = raw
    .split(",")
    .map((t) => t.trim())
    .filter((t) => t.length > 0);
  if (tokens.some((t) => t.length < 16))
    throw new ConfigError("API_TOKENS must be comma-separated tokens of at least 16 characters");
  return tokens;
}

function destinationUrl(env: Env): string | undefined {
  const value = env.DESTINATION_STOW_URL;
  if (!value) return undefined;
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new ConfigError("DESTINATION_STOW_URL must be an http(s) URL");
  }
  if (url.protocol !== "http:" && url.protocol !== "https:")
    throw new ConfigError("DESTINATION_STOW_URL must be an http(s) URL");
  return value;
}

const ENDPOINT_NAME = /^[a-z0-9][a-z0-9._-]{0,63}$/i;

function httpUrl(value: unknown): boolean {
  if (typeof value !== "string") return false;
  try {
    const url = new URL(value);
    return url.protocol === "http:" || url.protocol === "https:";
  } catch {
    return false;
  }
}

/**
 * DESTINATIONS / SOURCES: a JSON object keyed by name, each
 * {"url": "...", "authHeader": "Name: value", "timeoutMs": 30000, "minBytesPerSecond": 1048576}.
 * Errors name the variable and the entry's name (names are not secret), never a value.
 */
function endpoints(
  env: Env,
  variable: "DESTINATIONS" | "SOURCES",
  defaults: { timeoutMs: number; minBytesPerSecond: number },
): Endpoint[] {
  const raw = env[variable];
  if (raw === undefined || raw.trim() === "") return [];
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch {
    throw new ConfigError(`${variable} must be a JSON object of named endpoints`);
  }
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed))
    throw new ConfigError(`${variable} must be a JSON object of named endpoints`);
  const out: Endpoint[] = [];
  for (const [name, entry] of Object.entries(parsed as Record<string, unknown>)) {
    if (!ENDPOINT_NAME.test(name))
      throw new ConfigError(`${variable} names must be letters, digits, ".", "_" or "-" (1 to 64)`);
    if (typeof entry !== "object" || entry === null || Array.isArray(entry))
      throw new ConfigError(`${variable}.${name} must be an object with a url`);
    const e = entry as Record<string, unknown>;
    for (const key of Object.keys(e))
      if (!["url", "authHeader", "timeoutMs", "minBytesPerSecond"].includes(key))
        throw new ConfigError(
          `${variable}.${name} takes url, authHeader, timeoutMs and minBytesPerSecond only`,
        );
    if (!httpUrl(e.url)) throw new ConfigError(`${variable}.${name}.url must be an http(s) URL`);
    if (e.authHeader !== undefined && !validAuthHeader(e.authHeader))
      throw new ConfigError(`${variable}.${name}.authHeader must look like "Name: value"`);
    const int = (key: "timeoutMs" | "minBytesPerSecond", fallback: number, min: number) => {
      const v = e[key];
      if (v === undefined) return fallback;
      if (typeof v !== "number" || !Number.isInteger(v) || v < min)
        throw new ConfigError(`${variable}.${name}.${key} must be an integer of at least ${min}`);
      return v;
    };
    out.push(
      Object.freeze({
        name,
        url: e.url as string,
        ...(e.authHeader !== undefined ? { authHeader: e.authHeader as string } : {}),
        timeoutMs: int("timeoutMs", defaults.timeoutMs, 100),
        minBytesPerSecond: int("minBytesPerSecond", defaults.minBytesPerSecond, 0),
      }),
    );
  }
  return out;
}

/** An endpoint's auth header line as request headers: {"authorization": "Bearer ..."} (none without one). */
export function authHeaders(endpoint: Pick<Endpoint, "authHeader">): Record<string, string> {
  const line = endpoint.authHeader;
  if (!line) return {};
  const colon = line.indexOf(":");
  return { [line.slice(0, colon).trim().toLowerCase()]: line.slice(colon + 1).trim() };
}

function validAuthHeader(value: unknown): value is string {
  return typeof value === "string" && /^[A-Za-z0-9-]+:\s*\S/.test(value) && !/[\r\n]/.test(value);
}

function onOff(env: Env, name: string): boolean {
  const value = (env[name] ?? "off").toLowerCase();
  if (value === "on" || value === "off" || value === "") return value === "on";
  throw new ConfigError(`${name} must be "on" or "off"`);
}

function authHeader(env: Env): string | undefined {
  const value = env.DESTINATION_AUTH_HEADER;
  if (!value) return undefined;
  if (!/^[A-Za-z0-9-]+:\s*\S/.test(value))
    throw new ConfigError('DESTINATION_AUTH_HEADER must look like "Name: value"');
  return value;
}

export function loadConfig(env: Env = process.env): Config {
  const logLevel = (env.LOG_LEVEL ?? "info") as Config["logLevel"];
  if (!["fatal", "error", "warn", "info", "debug", "trace", "silent"].includes(logLevel)) {
    throw new ConfigError("LOG_LEVEL must be one of fatal, error, warn, info, debug, trace, silent");
  }
  const host = env.HOST ?? "127.0.0.1";
  if (host.trim() === "") throw new ConfigError("HOST must not be empty");
  const workers = integer(env, "WORKERS", Math.max(1, os.availableParallelism()), 1, 256);
  const defaultProfile = env.DEFAULT_PROFILE ?? "hipaa";
  const requestTimeoutMs = integer(env, "REQUEST_TIMEOUT_MS", 10 * 60_000, 1000);
  const headersTimeoutMs = integer(env, "HEADERS_TIMEOUT_MS", 10_000, 100);
  if (headersTimeoutMs > requestTimeoutMs)
    throw new ConfigError("HEADERS_TIMEOUT_MS must not be larger than REQUEST_TIMEOUT_MS");
  const maxRequestBytes = bytes(env, "MAX_REQUEST_BYTES", 4096 * MiB);
  const maxPartBytes = bytes(env, "MAX_PART_BYTES", 2048 * MiB);
  const maxReceivingBytes = bytes(env, "MAX_RECEIVING_BYTES", maxRequestBytes);
  // Before its slot a request buffers at most its first part: one such part must always fit.
  if (maxReceivingBytes < Math.min(maxPartBytes, maxRequestBytes))
    throw new ConfigError(
      "MAX_RECEIVING_BYTES must be at least MAX_PART_BYTES (or MAX_REQUEST_BYTES if smaller)",
    );
  if (!/^[a-z0-9][a-z0-9._-]{0,63}$/i.test(defaultProfile))
    throw new ConfigError("DEFAULT_PROFILE is not a profile name");
  const destinationStowUrl = destinationUrl(env);
  const destinationAuthHeader = authHeader(env);
  const destinationTimeoutMs = integer(env, "DESTINATION_TIMEOUT_MS", 30_000, 100);
  const destinationMinRate = integer(env, "DESTINATION_MIN_RATE", MiB, 0);
  const timing = { timeoutMs: destinationTimeoutMs, minBytesPerSecond: destinationMinRate };
  const named = endpoints(env, "DESTINATIONS", timing);
  if (destinationStowUrl !== undefined && named.some((d) => d.name === "default"))
    throw new ConfigError('DESTINATIONS must not name "default" when DESTINATION_STOW_URL is set');
  const destinations: Endpoint[] = destinationStowUrl
    ? [
        Object.freeze({
          name: "default",
          url: destinationStowUrl,
          ...(destinationAuthHeader ? { authHeader: destinationAuthHeader } : {}),
          ...timing,
        }),
        ...named,
      ]
    : named;
  const store = sessionStore(env);
  if (onOff(env, "JOBS") && store === "memory")
    throw new ConfigError("JOBS=on needs SESSION_STORE to be a redis:// URL (the queue lives there)");
  return Object.freeze({
    port: integer(env, "PORT", 8080, 0, 65535),
    host,
    logLevel,
    uidSecret: env.UID_SECRET && env.UID_SECRET.length > 0 ? env.UID_SECRET : undefined,
    defaultProfile,
    profilesDir: env.PROFILES_DIR && env.PROFILES_DIR.length > 0 ? env.PROFILES_DIR : undefined,
    workers,
    detectorThreads: integer(env, "PIXEL_DETECTOR_THREADS", workers, 0, 256),
    maxConcurrentRequests: integer(env, "MAX_CONCURRENT_REQUESTS", workers * 4, 1),
    maxParts: integer(env, "MAX_PARTS", 10_000, 1),
    maxPartBytes,
    maxRequestBytes,
    maxInflatedBytes: bytes(env, "MAX_INFLATED_BYTES", 256 * MiB),
    requestTimeoutMs,
    maxEventLoopDelayMs: integer(env, "MAX_EVENT_LOOP_DELAY_MS", 2000, 0),
    headersTimeoutMs,
    minBodyRate: integer(env, "MIN_BODY_RATE", 16 * 1024, 0),
    bodyRateWindowMs: integer(env, "BODY_RATE_WINDOW_MS", 10_000, 100),
    maxReceivingBytes,
    sessionStore: store,
    sessionTtlSeconds: integer(env, "SESSION_TTL_SECONDS", 3600, 1),
    maxSessionBytes: bytes(env, "MAX_SESSION_BYTES", 2048 * MiB),
    maxStoreBytes: bytes(env, "MAX_STORE_BYTES", 8192 * MiB),
    apiTokens: apiTokens(env),
    destinationStowUrl,
    destinationAuthHeader,
    destinationTimeoutMs,
    destinationMinRate,
    destinations: Object.freeze(destinations),
    jobs: onOff(env, "JOBS"),
    jobLockMs: integer(env, "JOB_LOCK_MS", 30_000, 1000),
    jobAttempts: integer(env, "JOB_ATTEMPTS", 10, 1, 100),
    jobBackoffMs: integer(env, "JOB_BACKOFF_MS", 1000, 10),
    mappingExport: onOff(env, "MAPPING_EXPORT"),
    sources: Object.freeze(
      endpoints(env, "SOURCES", { timeoutMs: destinationTimeoutMs, minBytesPerSecond: 0 }),
    ),
  });
}
