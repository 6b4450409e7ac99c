/**
 * Jobs: bulk de-identification from a DICOMweb source (or a session) to a named destination, split
 * into units (a series, or a bounded batch of a session's instances) on a BullMQ queue in the Redis
 * the sessions use. Every replica with JOBS=on consumes units; a replica that dies mid-unit loses
 * its lock and BullMQ's stalled-job check gives the unit to another, which skips the instances
 * already recorded as delivered. UIDs are keyed (UID_SECRET), so an instance sent twice has the same
 * SOP Instance UID and the destination keeps it once.
 *
 * The job's record (state, counts, failures) lives in Redis too, so any replica answers GET /jobs/{id}.
 * Failure reasons name what went wrong, never a value; the source's query is not echoed back.
 */
import crypto from "node:crypto";
import { Queue, Worker, type Job } from "bullmq";
import { Redis } from "ioredis";
import type { Config, Endpoint } from "../config.js";
import type { EnginePool } from "../engine/pool.js";
import type { ForwardingService } from "../dicomweb/forwarding.js";
import { SourceClient, SourceError, type SeriesRef } from "../dicomweb/source-client.js";
import { readPart10 } from "../dicom/part10.js";
import { PATIENT_ID, SERIES_INSTANCE_UID, SOP_INSTANCE_UID, STUDY_INSTANCE_UID } from "../dicom/tag.js";
import { asciiValue } from "../dicom/values.js";
import { badRequest, conflict, HttpProblem, notFound } from "../http/problem.js";
import type { ProfileRegistry } from "../profiles/registry.js";
import type { SessionService } from "../sessions/service.js";

export type JobState = "queued" | "running" | "completed" | "failed" | "cancelled";

export type JobSource =
  | {
      readonly name: string;
      readonly studies?: readonly string[];
      readonly study?: string;
      readonly series?: string;
      readonly query?: Readonly<Record<string, string>>;
    }
  | { readonly session: string };

export interface JobRequest {
  readonly source: JobSource;
  readonly profile: string;
  readonly destination: string;
}

export interface JobFailure {
  readonly study?: string;
  readonly series?: string;
  readonly sopInstanceUID?: string;
  readonly index?: number;
  readonly reason: string;
}

export interface JobStatus {
  readonly id: string;
  readonly state: JobState;
  readonly source: { readonly name?: string; readonly session?: string; readonly kind: string };
  readonly profile: string;
  readonly destination: string;
  readonly counts: { total: number; done: number; failed: number; skipped: number };
  readonly bytes: number;
  /** Instances per second since the job started. */
  readonly rate: number;
  /** Seconds left at that rate; null before anything is done or after the end. */
  readonly eta: number | null;
  readonly createdAt: string;
  readonly startedAt: string | null;
  readonly finishedAt: string | null;
  readonly failures: JobFailure[];
}

type Unit =
  | { readonly kind: "plan"; readonly job: string }
  | {
      readonly kind: "series";
      readonly job: string;
      readonly study: string;
      readonly series: string;
      readonly key: string;
      /** What QIDO-RS said the series holds (counted in the plan's total). */
      readonly expected: number;
    }
  | {
      readonly kind: "session";
      readonly job: string;
      readonly from: number;
      readonly to: number;
      readonly key: string;
    };

const UID = /^[0-9]+(\.[0-9]+)*$/;
/** Safe in a WADO-RS path (digits and dots). Looser than isValidUid on purpose: a source's study with
 * a leading-zero component is still retrieved (the engine remaps it), not skipped. */
const validUid = (s: unknown): s is string => typeof s === "string" && s.length <= 64 && UID.test(s);
const QUEUE = "dwa-jobs";
/** Instances per STOW-RS request, and bytes: a batch is sent when either is reached. */
const BATCH_INSTANCES = 25;
const BATCH_BYTES = 64 * 1024 * 1024;
/** Instances of a series retrieved and de-identified at once. */
const IN_FLIGHT = 4;
/** Instances of a session per unit. */
const SESSION_UNIT = 50;
const RECORD_TTL_SECONDS = 30 * 24 * 3600;

/** Reasons are fixed texts or engine reasons (which name tags, never values). */
class UnitError extends Error {}

export interface JobDeps {
  readonly config: Config;
  readonly engine: EnginePool;
  readonly registry: ProfileRegistry;
  readonly forwarding: ForwardingService;
  readonly sessions: SessionService;
  readonly log: { warn(obj: object, msg: string): void; info(obj: object, msg: string): void };
}

export class JobService {
  private client: Redis | undefined;
  private bull: Queue | undefined;
  private worker: Worker | undefined;
  private readonly sources: ReadonlyMap<string, Endpoint>;

  constructor(
    private readonly url: string,
    private readonly deps: JobDeps,
  ) {
    this.sources = new Map(deps.config.sources.map((s) => [s.name, s]));
  }

  /** Connections are opened on first use: a replica that never sees a job holds none. */
  private get redis(): Redis {
    if (!this.client) {
      this.client = new Redis(this.url, { maxRetriesPerRequest: 2 });
      this.client.on("error", () => {});
    }
    return this.client;
  }

  private get queue(): Queue {
    if (!this.bull) {
      this.bull = new Queue(QUEUE, {
        connection: this.connection(),
        defaultJobOptions: {
          attempts: this.deps.config.jobAttempts,
          backoff: { type: "exponential", delay: this.deps.config.jobBackoffMs },
          removeOnComplete: true,
          removeOnFail: 1000,
        },
      });
      this.bull.on("error", () => {});
    }
    return this.bull;
  }

  /** Starts consuming units (JOBS=on). */
  consume(): void {
    const lock = this.deps.config.jobLockMs;
    this.worker = new Worker(QUEUE, (job: Job<Unit>) => this.run(job), {
      connection: this.connection(),
      concurrency: Math.max(1, Math.min(4, this.deps.config.workers)),
      lockDuration: lock,
      stalledInterval: Math.max(500, Math.floor(lock / 2)),
      maxStalledCount: 10,
    });
    this.worker.on("error", () => {});
  }

  private readonly connections: Redis[] = [];

  /** BullMQ's own connections: commands wait for Redis rather than fail (it needs that). */
  private connection(): Redis {
    const redis = new Redis(this.url, { maxRetriesPerRequest: null });
    redis.on("error", () => {});
    this.connections.push(redis);
    return redis;
  }

  async close(): Promise<void> {
    await this.worker?.close();
    await this.bull?.close();
    this.client?.disconnect();
    for (const c of this.connections) c.disconnect();
  }

  private key(id: string, part = ""): string {
    return `dwa:job:${id}${part ? `:${part}` : ""}`;
  }

  // ---- API ---------------------------------------------------------------------------------

  /**
   * Returns the job's id, and with MAPPING_EXPORT=on its mapping token: the only way to read the
   * job's mapping (it re-identifies), shown once; Redis keeps its hash.
   */
  async create(body: unknown, owner: string | null): Promise<{ id: string; mappingToken?: string }> {
    const request = this.validate(body);
    if ("session" in request.source) await this.deps.sessions.get(request.source.session, owner);
    const id = crypto.randomUUID();
    const now = Date.now();
    const mappingToken = this.deps.config.mappingExport
      ? crypto.randomBytes(24).toString("base64url")
      : undefined;
    await this.redis
      .multi()
      .hset(this.key(id), {
        state: "queued",
        owner: owner ?? "",
        request: JSON.stringify(request),
        profile: request.profile,
        destination: request.destination,
        created: String(now),
        total: "0",
        bytes: "0",
        units: "0",
        planned: "0",
        ...(mappingToken ? { mapping: sha256(mappingToken) } : {}),
      })
      .expire(this.key(id), RECORD_TTL_SECONDS)
      .exec();
    await this.queue.add("plan", { kind: "plan", job: id } satisfies Unit, { jobId: `${id}_plan` });
    return { id, ...(mappingToken ? { mappingToken } : {}) };
  }

  async status(id: string, owner: string | null): Promise<JobStatus> {
    const h = await this.record(id, owner);
    const [done, failures] = await Promise.all([
      this.redis.scard(this.key(id, "done")),
      this.redis.hvals(this.key(id, "failed")),
    ]);
    const request = JSON.parse(h.request!) as JobRequest;
    const total = Math.max(Number(h.total), done + failures.length);
    // Skipped: what a cancelled job left undone.
    const skipped = h.state === "cancelled" ? total - done - failures.length : 0;
    const started = h.started ? Number(h.started) : undefined;
    const finished = h.finished ? Number(h.finished) : undefined;
    const elapsed = started ? ((finished ?? Date.now()) - started) / 1000 : 0;
    const rate = elapsed > 0 ? done / elapsed : 0;
    const state = h.state as JobState;
    const left = total - done - skipped - failures.length;
    const source =
      "session" in request.source
        ? { kind: "session", session: request.source.session }
        : {
            kind: request.source.query ? "query" : request.source.series ? "series" : "studies",
            name: request.source.name,
          };
    return {
      id,
      state,
      source,
      profile: request.profile,
      destination: request.destination,
      counts: { total, done, failed: failures.length, skipped },
      bytes: Number(h.bytes ?? 0),
      rate: Math.round(rate * 100) / 100,
      eta:
        (state === "running" || state === "queued") && rate > 0 ? Math.ceil(Math.max(0, left) / rate) : null,
      createdAt: new Date(Number(h.created)).toISOString(),
      startedAt: started ? new Date(started).toISOString() : null,
      finishedAt: finished ? new Date(finished).toISOString() : null,
      failures: failures.map((f) => JSON.parse(f) as JobFailure),
    };
  }

  /** DELETE /jobs/{id}: waiting units are removed; running ones stop before their next instance. */
  async cancel(id: string, owner: string | null): Promise<void> {
    const h = await this.record(id, owner);
    if (h.state === "completed" || h.state === "failed" || h.state === "cancelled") return;
    await this.redis.hset(this.key(id), { state: "cancelled", finished: String(Date.now()) });
    const ids = await this.redis.smembers(this.key(id, "units-queued"));
    await Promise.all(ids.map((u) => this.queue.remove(u).catch(() => 0)));
    await this.expireRecord(id);
  }

  /** POST /jobs/{id}/retry: the units that had failures run again; what was delivered is skipped. */
  async retry(id: string, owner: string | null): Promise<void> {
    const h = await this.record(id, owner);
    if (h.state !== "failed" && h.state !== "completed")
      throw conflict("only a finished job's failures can be retried");
    const failures = (await this.redis.hvals(this.key(id, "failed"))).map((f) => JSON.parse(f) as JobFailure);
    if (failures.length === 0) throw conflict("the job has no failures to retry");
    const request = JSON.parse(h.request!) as JobRequest;
    const generation = await this.redis.hincrby(this.key(id), "generation", 1);
    const units = new Map<string, Unit>();
    for (const f of failures) {
      if ("session" in request.source && f.index !== undefined) {
        const from = Math.floor(f.index / SESSION_UNIT) * SESSION_UNIT;
        const key = `r${generation}-s${from}`;
        units.set(key, { kind: "session", job: id, from, to: from + SESSION_UNIT, key });
      } else if (f.study && f.series) {
        if (!units.has(f.series))
          units.set(f.series, {
            kind: "series",
            job: id,
            study: f.study,
            series: f.series,
            key: `r${generation}-${units.size}`,
            expected: -1,
          });
      } else if (f.study) {
        // The study's series could not be listed: plan it again.
        const series = await this.source(request)
          .series(f.study)
          .catch(() => [] as SeriesRef[]);
        for (const s of series)
          units.set(s.series, {
            kind: "series",
            job: id,
            study: s.study,
            series: s.series,
            key: `r${generation}-${units.size}`,
            expected: 0,
          });
      }
    }
    await this.redis
      .multi()
      .del(this.key(id, "failed"))
      .hincrby(this.key(id), "units", units.size)
      .hset(this.key(id), { state: "running" })
      .hdel(this.key(id), "finished")
      .exec();
    await this.enqueue(id, [...units.values()]);
    if (units.size === 0) await this.maybeFinish(id);
  }

  /**
   * uid_mapping.csv (original UID, new UID: studies, series, instances) or patid_mapping.csv
   * (original PatientID, new PatientID), as the MIDI-B benchmark reads them. Only with
   * MAPPING_EXPORT=on, for the job's owner, with the token POST /jobs returned (403 otherwise).
   */
  async mapping(
    id: string,
    owner: string | null,
    kind: "uid" | "patid",
    token: string | undefined,
  ): Promise<string> {
    if (!this.deps.config.mappingExport)
      throw notFound("mapping export is off (MAPPING_EXPORT=on turns it on)");
    const h = await this.record(id, owner);
    const expected = h.mapping ? Buffer.from(h.mapping, "hex") : undefined;
    const given = Buffer.from(sha256(token ?? ""), "hex");
    if (!expected || !token || !crypto.timingSafeEqual(expected, given))
      throw new HttpProblem(403, "Forbidden", "the mapping needs the job's mapping token (X-Mapping-Token)");
    const rows = await this.redis.hgetall(this.key(id, `map-${kind}`));
    const cell = (v: string) => `"${v.replace(/"/g, '""')}"`;
    return (
      ["original,new", ...Object.entries(rows).map(([a, b]) => `${cell(a)},${cell(b)}`)].join("\r\n") + "\r\n"
    );
  }

  /** With a mapping token: original -> new UIDs and PatientID of one de-identified instance. */
  private async remember(id: string, original: Buffer, output: Buffer): Promise<void> {
    const before = identifiers(original);
    const after = identifiers(output);
    if (!before || !after) return;
    const uids: Record<string, string> = {};
    for (const k of ["study", "series", "sop"] as const)
      if (before[k] && after[k]) uids[before[k]] = after[k];
    const multi = this.redis.multi();
    if (Object.keys(uids).length > 0) multi.hset(this.key(id, "map-uid"), uids);
    if (before.patient) multi.hset(this.key(id, "map-patid"), before.patient, after.patient);
    // Original Patient IDs and UIDs re-identify: never held longer than the job's record.
    for (const part of ["map-uid", "map-patid"]) multi.expire(this.key(id, part), RECORD_TTL_SECONDS);
    await multi.exec();
  }

  private async record(id: string, owner: string | null): Promise<Record<string, string>> {
    const h = /^[0-9a-f-]{36}$/.test(id) ? await this.redis.hgetall(this.key(id)) : {};
    if (!h.state || (h.owner ?? "") !== (owner ?? "")) throw notFound("no such job");
    return h;
  }

  private validate(body: unknown): JobRequest {
    if (typeof body !== "object" || body === null) throw badRequest("the body is a JSON object");
    const b = body as Record<string, unknown>;
    const profile = typeof b.profile === "string" ? b.profile : this.deps.config.defaultProfile;
    if (!this.deps.registry.get(profile))
      throw notFound("the profile names no known profile; GET /profiles lists them");
    const destination = typeof b.destination === "string" ? b.destination : "default";
    this.deps.forwarding.destination(destination);
    const s = b.source as Record<string, unknown> | undefined;
    if (typeof s !== "object" || s === null) throw badRequest("source is an object");
    if (typeof s.session === "string") return { source: { session: s.session }, profile, destination };
    if (typeof s.name !== "string" || !this.sources.has(s.name))
      throw notFound("source.name names no configured source (SOURCES lists them)");
    const source: {
      name: string;
      studies?: string[];
      study?: string;
      series?: string;
      query?: Record<string, string>;
    } = { name: s.name };
    if (s.studies !== undefined) {
      if (
        !Array.isArray(s.studies) ||
        s.studies.length === 0 ||
        s.studies.length > 100_000 ||
        !s.studies.every(validUid)
      )
        throw badRequest("source.studies is a list of Study Instance UIDs");
      source.studies = s.studies;
    } else if (s.study !== undefined) {
      if (!validUid(s.study)) throw badRequest("source.study is a Study Instance UID");
      source.study = s.study;
      if (s.series !== undefined) {
        if (!validUid(s.series)) throw badRequest("source.series is a Series Instance UID");
        source.series = s.series;
      }
    } else if (s.query !== undefined) {
      const q = s.query as Record<string, unknown>;
      if (
        typeof q !== "object" ||
        q === null ||
        Object.keys(q).length === 0 ||
        !Object.entries(q).every(
          ([k, v]) => /^[A-Za-z0-9]{1,64}$/.test(k) && typeof v === "string" && v.length <= 1024,
        )
      )
        throw badRequest("source.query maps QIDO-RS attributes (keywords or tags) to strings");
      source.query = q as Record<string, string>;
    } else throw badRequest("source names studies, a study (and series), or a query");
    return { source, profile, destination };
  }

  private source(request: JobRequest): SourceClient {
    if ("session" in request.source) throw new Error("not a DICOMweb source");
    return new SourceClient(this.sources.get(request.source.name)!, this.deps.config.maxPartBytes);
  }

  private async enqueue(id: string, units: Unit[]): Promise<void> {
    if (units.length === 0) return;
    const jobs = units.map((u) => ({
      name: u.kind,
      data: u,
      opts: { jobId: `${id}_${"key" in u ? u.key : "plan"}` },
    }));
    await this.redis.sadd(this.key(id, "units-queued"), ...jobs.map((j) => j.opts.jobId));
    await this.queue.addBulk(jobs);
  }

  // ---- Workers -------------------------------------------------------------------------------

  private async run(job: Job<Unit>): Promise<void> {
    const unit = job.data;
    const h = await this.redis.hgetall(this.key(unit.job));
    if (!h.state || h.state === "cancelled") return;
    if (h.state === "queued")
      await this.redis.eval(
        "if redis.call('hget', KEYS[1], 'state') == 'queued' then redis.call('hset', KEYS[1], 'state', 'running', 'started', ARGV[1]) end",
        1,
        this.key(unit.job),
        String(Date.now()),
      );
    const request = JSON.parse(h.request!) as JobRequest;
    const mapping = h.mapping !== undefined;
    const last = job.attemptsMade + 1 >= (job.opts.attempts ?? 1);
    try {
      if (unit.kind === "plan") await this.plan(unit.job, request);
      else if (unit.kind === "series") await this.series(unit, request, mapping);
      else await this.sessionBatch(unit, request, h.owner || null, mapping);
    } catch (error) {
      if (!last) throw error; // BullMQ retries the unit after a back-off
      const reason = `gave up after ${job.attemptsMade + 1} attempts: ${error instanceof UnitError || error instanceof SourceError ? error.message : "internal error"}`;
      this.deps.log.warn({ job: unit.job, unit: unit.kind }, "job unit failed for good");
      const failure: JobFailure =
        unit.kind === "series"
          ? { study: unit.study, series: unit.series, reason }
          : unit.kind === "session"
            ? { index: unit.from, reason }
            : { reason };
      await this.redis.hset(
        this.key(unit.job, "failed"),
        `unit:${"key" in unit ? unit.key : "plan"}`,
        JSON.stringify(failure),
      );
      if (unit.kind === "plan") await this.redis.hset(this.key(unit.job), { planned: "1" });
    }
    if (unit.kind !== "plan") await this.redis.sadd(this.key(unit.job, "units-done"), unit.key);
    await this.maybeFinish(unit.job);
  }

  private async plan(id: string, request: JobRequest): Promise<void> {
    const units: Unit[] = [];
    let total = 0;
    if ("session" in request.source) {
      const h = await this.redis.hget(this.key(id), "owner");
      const meta = await this.deps.sessions.get(request.source.session, h || null).catch(() => undefined);
      if (!meta) throw new UnitError("the session is gone");
      total = meta.instances.length;
      for (let from = 0; from < total; from += SESSION_UNIT)
        units.push({
          kind: "session",
          job: id,
          from,
          to: Math.min(total, from + SESSION_UNIT),
          key: `s${from}`,
        });
    } else {
      const client = this.source(request);
      const { studies, study, series, query } = request.source;
      const studyList = studies ?? (study ? [study] : (await client.studies(query ?? {})).filter(validUid));
      for (const st of studyList) {
        let list: SeriesRef[];
        if (series && study) list = [{ study, series }];
        else {
          try {
            list = await client.series(st);
          } catch (error) {
            if (error instanceof SourceError && error.permanent) {
              await this.redis.hset(
                this.key(id, "failed"),
                `study:${st}`,
                JSON.stringify({ study: st, reason: error.message } satisfies JobFailure),
              );
              continue;
            }
            throw error;
          }
        }
        for (const s of list.filter((x) => validUid(x.series))) {
          total += s.instances ?? 0;
          units.push({
            kind: "series",
            job: id,
            study: s.study,
            series: s.series,
            key: `u${units.length}`,
            expected: s.instances ?? 0,
          });
        }
      }
    }
    await this.redis.hset(this.key(id), { units: String(units.length), total: String(total) });
    await this.enqueue(id, units);
    await this.redis.hset(this.key(id), { planned: "1" });
  }

  private async cancelled(id: string): Promise<boolean> {
    return (await this.redis.hget(this.key(id), "state")) === "cancelled";
  }

  private async series(
    unit: Extract<Unit, { kind: "series" }>,
    request: JobRequest,
    mapping: boolean,
  ): Promise<void> {
    const client = this.source(request);
    const id = unit.job;
    let sops: string[];
    try {
      sops = (await client.instances(unit.study, unit.series)).filter(validUid);
    } catch (error) {
      if (error instanceof SourceError && error.permanent) {
        await this.fail(id, `series:${unit.series}`, {
          study: unit.study,
          series: unit.series,
          reason: error.message,
        });
        return;
      }
      throw error;
    }
    // The plan counted what QIDO-RS said of the series; correct it once with what it lists (a
    // retry unit, expected -1, was counted already).
    if (unit.expected >= 0 && (await this.redis.sadd(this.key(id, "listed"), unit.series)) === 1) {
      if (unit.expected !== sops.length)
        await this.redis.hincrby(this.key(id), "total", sops.length - unit.expected);
    }
    const done = await this.delivered(id, sops);
    const batch = new Batch();
    const where = { study: unit.study, series: unit.series };
    // Retrieve and de-identify a few instances at once (network and worker threads overlap), one
    // STOW-RS batch at a time: memory is bounded by IN_FLIGHT instances plus one batch.
    const inFlight = new Set<Promise<void>>();
    let thrown: unknown;
    const one = async (sop: string) => {
      let data: Buffer;
      try {
        data = await client.retrieve(unit.study, unit.series, sop);
      } catch (error) {
        if (error instanceof SourceError && error.permanent) {
          await this.fail(id, sop, { ...where, sopInstanceUID: sop, reason: error.message });
          return;
        }
        throw error;
      }
      // The input is moved to the worker thread unless the mapping still needs to read it.
      const outcome = await this.deps.engine.anonymize(data, { name: request.profile }, !mapping);
      if (outcome.status !== "anonymized") {
        await this.fail(id, sop, { ...where, sopInstanceUID: sop, reason: outcome.reason });
        return;
      }
      if (mapping) await this.remember(id, data, outcome.output);
      batch.add(sop, outcome.sopInstanceUID, outcome.output, where);
    };
    for (const sop of sops) {
      if (done.has(sop)) continue;
      if (thrown !== undefined) break;
      if (await this.cancelled(id)) break;
      const task: Promise<void> = one(sop)
        .catch((error: unknown) => {
          thrown ??= error;
        })
        .finally(() => inFlight.delete(task));
      inFlight.add(task);
      if (inFlight.size >= IN_FLIGHT) await Promise.race(inFlight);
      if (batch.full && thrown === undefined)
        await this.flush(id, request.destination, batch).catch((error: unknown) => {
          thrown ??= error;
        });
    }
    await Promise.all(inFlight);
    if (thrown !== undefined) throw thrown;
    if (await this.cancelled(id)) return;
    await this.flush(id, request.destination, batch);
  }

  /** Which of these keys were delivered already (by an earlier attempt or a replica that died). */
  private async delivered(id: string, keys: readonly string[]): Promise<Set<string>> {
    if (keys.length === 0) return new Set();
    const flags = await this.redis.smismember(this.key(id, "done"), ...keys);
    return new Set(keys.filter((_, i) => flags[i] === 1));
  }

  private async sessionBatch(
    unit: Extract<Unit, { kind: "session" }>,
    request: JobRequest,
    owner: string | null,
    mapping: boolean,
  ): Promise<void> {
    if (!("session" in request.source)) return;
    const id = unit.job;
    const keys: string[] = [];
    for (let index = unit.from; index < unit.to; index++) keys.push(`s${index}`);
    const done = await this.delivered(id, keys);
    const batch = new Batch();
    for (let index = unit.from; index < unit.to; index++) {
      const key = `s${index}`;
      if (done.has(key)) continue;
      if (await this.cancelled(id)) return;
      let data: Buffer;
      try {
        data = await this.deps.sessions.instance(request.source.session, owner, index, "original");
      } catch (error) {
        if (error instanceof HttpProblem && error.status < 500) {
          await this.fail(id, key, { index, reason: "the session's original is not available" });
          continue;
        }
        throw error;
      }
      const outcome = await this.deps.engine.anonymize(data, { name: request.profile }, false);
      if (outcome.status !== "anonymized") {
        await this.fail(id, key, { index, reason: outcome.reason });
        continue;
      }
      if (mapping) await this.remember(id, data, outcome.output);
      batch.add(key, outcome.sopInstanceUID, outcome.output, { index });
      if (batch.full) await this.flush(id, request.destination, batch);
    }
    await this.flush(id, request.destination, batch);
  }

  private async fail(id: string, field: string, failure: JobFailure): Promise<void> {
    await this.redis.hset(this.key(id, "failed"), field, JSON.stringify(failure));
  }

  /**
   * One STOW-RS request. Delivered instances are recorded (a rerun of the unit skips them); a
   * destination that is down or answers 5xx throws, so BullMQ retries the unit after a back-off.
   */
  private async flush(id: string, destination: string, batch: Batch): Promise<void> {
    const items = batch.take();
    if (items.length === 0) return;
    const result = await this.deps.forwarding.forward(
      destination,
      items.map((i) => ({ sopInstanceUID: i.newUid, data: i.data })),
    );
    const stored = items.filter((i) => result.stored.has(i.newUid));
    const multi = this.redis.multi();
    if (stored.length > 0) {
      multi.sadd(this.key(id, "done"), ...stored.map((i) => i.key));
      multi.hdel(this.key(id, "failed"), ...stored.map((i) => i.key));
      multi.hincrby(
        this.key(id),
        "bytes",
        stored.reduce((n, i) => n + i.data.length, 0),
      );
    }
    for (const i of items)
      if (result.failed.has(i.newUid))
        multi.hset(
          this.key(id, "failed"),
          i.key,
          JSON.stringify({
            ...i.where,
            ...(i.where.index === undefined ? { sopInstanceUID: i.key } : {}),
            reason: `the destination refused it (failure reason ${result.failed.get(i.newUid)!.toString(16).toUpperCase()})`,
          } satisfies JobFailure),
        );
    await multi.exec();
    if (!result.reached || result.status >= 500)
      throw new UnitError(`destination ${result.problem ?? `status ${result.status}`}`);
  }

  private async maybeFinish(id: string): Promise<void> {
    const [h, finishedUnits, failed] = await Promise.all([
      this.redis.hmget(this.key(id), "planned", "units", "state"),
      this.redis.scard(this.key(id, "units-done")),
      this.redis.hlen(this.key(id, "failed")),
    ]);
    const [planned, units, state] = h;
    if (planned !== "1" || finishedUnits < Number(units)) return;
    if (state !== "queued" && state !== "running") return;
    // Compare-and-set: a cancel in between wins.
    await this.redis.eval(
      "local s = redis.call('hget', KEYS[1], 'state') if s == 'queued' or s == 'running' then redis.call('hset', KEYS[1], 'state', ARGV[1], 'finished', ARGV[2]) end",
      1,
      this.key(id),
      failed > 0 ? "failed" : "completed",
      String(Date.now()),
    );
    await this.expireRecord(id);
  }

  /** A finished or cancelled job's keys (original UIDs, failures, mappings) expire with its record. */
  private async expireRecord(id: string): Promise<void> {
    const multi = this.redis.multi().expire(this.key(id), RECORD_TTL_SECONDS);
    for (const part of ["done", "failed", "units-done", "units-queued", "listed", "map-uid", "map-patid"])
      multi.expire(this.key(id, part), RECORD_TTL_SECONDS);
    await multi.exec();
  }
}

function sha256(text: string): string {
  return crypto.createHash("sha256").update(text).digest("hex");
}

/** The identifiers a mapping links; undefined when the bytes cannot be read. */
function identifiers(
  data: Buffer,
): { study: string; series: string; sop: string; patient: string } | undefined {
  try {
    const { dataset } = readPart10(data);
    const value = (tag: number) => asciiValue(dataset.find((e) => e.tag === tag)?.value);
    return {
      study: value(STUDY_INSTANCE_UID),
      series: value(SERIES_INSTANCE_UID),
      sop: value(SOP_INSTANCE_UID),
      patient: value(PATIENT_ID),
    };
  } catch {
    return undefined;
  }
}

interface BatchItem {
  readonly key: string;
  readonly newUid: string;
  readonly data: Buffer;
  readonly where: { study?: string; series?: string; index?: number };
}

class Batch {
  private items: BatchItem[] = [];
  private bytes = 0;

  add(key: string, newUid: string, data: Buffer, where: BatchItem["where"]): void {
    this.items.push({ key, newUid, data, where });
    this.bytes += data.length;
  }

  get full(): boolean {
    return this.items.length >= BATCH_INSTANCES || this.bytes >= BATCH_BYTES;
  }

  take(): BatchItem[] {
    const items = this.items;
    this.items = [];
    this.bytes = 0;
    return items;
  }
}
