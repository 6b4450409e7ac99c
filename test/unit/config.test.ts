import { describe, expect, it } from "vitest";
import { ConfigError, loadConfig } from "../../src/config.js";

describe("configuration", () => {
  it("has embedded defaults for everything", () => {
    const c = loadConfig({});
    expect(c).toMatchObject({
      port: 8080,
      host: "127.0.0.1",
      defaultProfile: "hipaa",
      maxParts: 10_000,
      uidSecret: undefined,
      profilesDir: undefined,
    });
    expect(c.maxPartBytes).toBe(2 * 1024 ** 3);
    // Slow senders are cut in seconds; a forward's deadline grows with its size.
    expect(c).toMatchObject({
      headersTimeoutMs: 10_000,
      minBodyRate: 16 * 1024,
      bodyRateWindowMs: 10_000,
      maxReceivingBytes: c.maxRequestBytes,
      destinationTimeoutMs: 30_000,
      destinationMinRate: 1024 * 1024,
    });
  });

  it("reads sizes with units", () => {
    expect(loadConfig({ MAX_PART_BYTES: "512MiB", MAX_REQUEST_BYTES: "1GB" })).toMatchObject({
      maxPartBytes: 512 * 1024 ** 2,
      maxRequestBytes: 1e9,
    });
  });

  it.each([
    [{ PORT: "http" }, /PORT must be an integer/],
    [{ PORT: "70000" }, /PORT must be an integer from 0 to 65535/],
    [{ WORKERS: "0" }, /WORKERS/],
    [{ MAX_PART_BYTES: "lots" }, /MAX_PART_BYTES must be a byte size/],
    [{ LOG_LEVEL: "loud" }, /LOG_LEVEL/],
    [{ DEFAULT_PROFILE: "../etc" }, /DEFAULT_PROFILE/],
    [{ HEADERS_TIMEOUT_MS: "700000" }, /HEADERS_TIMEOUT_MS must not be larger than REQUEST_TIMEOUT_MS/],
    [{ MAX_RECEIVING_BYTES: "1GiB" }, /MAX_RECEIVING_BYTES must be at least MAX_PART_BYTES/],
    [{ MIN_BODY_RATE: "-1" }, /MIN_BODY_RATE must be an integer/],
    [{ DESTINATION_MIN_RATE: "fast" }, /DESTINATION_MIN_RATE must be an integer/],
    [{ DESTINATIONS: "{not json s3cr3t" }, /DESTINATIONS must be a JSON object/],
    [{ DESTINATIONS: '["http://pacs/studies"]' }, /DESTINATIONS must be a JSON object/],
    [{ DESTINATIONS: '{"a b":{"url":"http://pacs/studies"}}' }, /DESTINATIONS names must be/],
    [{ DESTINATIONS: '{"trial":{"url":"ftp://s3cr3t@pacs/x"}}' }, /DESTINATIONS\.trial\.url must be an http/],
    [
      { DESTINATIONS: '{"trial":{"url":"http://pacs/studies","authHeader":"s3cr3t-token"}}' },
      /DESTINATIONS\.trial\.authHeader must look like/,
    ],
    [
      { DESTINATIONS: '{"trial":{"url":"http://pacs/studies","timeoutMs":5}}' },
      /DESTINATIONS\.trial\.timeoutMs must be an integer of at least 100/,
    ],
    [
      { DESTINATIONS: '{"trial":{"url":"http://pacs/studies","password":"s3cr3t"}}' },
      /DESTINATIONS\.trial takes url, authHeader/,
    ],
    [
      { DESTINATION_STOW_URL: "http://a/studies", DESTINATIONS: '{"default":{"url":"http://b/studies"}}' },
      /DESTINATIONS must not name "default"/,
    ],
    [{ JOBS: "yes" }, /JOBS must be "on" or "off"/],
    [{ MAPPING_EXPORT: "true" }, /MAPPING_EXPORT must be "on" or "off"/],
    [{ JOB_ATTEMPTS: "0" }, /JOB_ATTEMPTS must be an integer from 1 to 100/],
    [{ SOURCES: '{"pacs":{"url":"not a url s3cr3t"}}' }, /SOURCES\.pacs\.url must be an http/],
  ])("rejects %j naming the variable, never echoing its value", (env, message) => {
    let error: unknown;
    try {
      loadConfig(env as Record<string, string>);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as Error).message).toMatch(message);
    for (const value of Object.values(env))
      if (!/^\d+$/.test(value)) expect((error as Error).message).not.toContain(value);
  });

  it("names destinations: default from DESTINATION_STOW_URL, the rest from DESTINATIONS", () => {
    const c = loadConfig({
      DESTINATION_STOW_URL: "http://pacs/studies",
      DESTINATION_AUTH_HEADER: "Authorization: Bearer one",
      DESTINATION_TIMEOUT_MS: "5000",
      DESTINATIONS: JSON.stringify({
        trial: { url: "https://archive/dicom-web/studies", authHeader: "X-Key: two", timeoutMs: 9000 },
      }),
      SOURCES: JSON.stringify({ pacs: { url: "http://orthanc:8042/dicom-web" } }),
    });
    expect(c.destinations).toEqual([
      {
        name: "default",
        url: "http://pacs/studies",
        authHeader: "Authorization: Bearer one",
        timeoutMs: 5000,
        minBytesPerSecond: 1024 * 1024,
      },
      {
        name: "trial",
        url: "https://archive/dicom-web/studies",
        authHeader: "X-Key: two",
        timeoutMs: 9000,
        minBytesPerSecond: 1024 * 1024,
      },
    ]);
    expect(c.sources).toEqual([
      { name: "pacs", url: "http://orthanc:8042/dicom-web", timeoutMs: 5000, minBytesPerSecond: 0 },
    ]);
    // Without DESTINATION_STOW_URL, DESTINATIONS may define "default" itself.
    expect(
      loadConfig({ DESTINATIONS: '{"default":{"url":"http://b/studies"}}' }).destinations.map((d) => d.name),
    ).toEqual(["default"]);
    expect(loadConfig({}).destinations).toEqual([]);
  });

  it("jobs: off by default, on with a Redis store", () => {
    expect(loadConfig({})).toMatchObject({
      mappingExport: false,
      jobs: false,
      jobLockMs: 30_000,
      jobAttempts: 10,
      jobBackoffMs: 1000,
    });
    expect(loadConfig({ JOBS: "on", SESSION_STORE: "redis://127.0.0.1:6379" }).jobs).toBe(true);
    expect(() => loadConfig({ JOBS: "on" })).toThrow(/JOBS=on needs SESSION_STORE to be a redis/);
  });

  it("a secret is never part of an error", () => {
    expect(() => loadConfig({ UID_SECRET: "s3cr3t", PORT: "x" })).toThrow(/^PORT/);
  });
});
