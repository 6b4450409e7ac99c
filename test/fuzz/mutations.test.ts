/**
 * Fuzzing with seeded mutations of the corpus (../shared/corpus/public and a seeded selection of
 * ../shared/corpus/realworld, read in place). For every case the answer must be either a
 * de-identified instance that dcmtk reads and in which no identifying value of the PRISTINE source
 * appears (test/fuzz/needles.ts), or a per-instance failure / 4xx with a reason that carries no such
 * value; never a 5xx, a hang or a crash.
 *
 * The cases go through POST /anonymize in batches (multipart/related, the per-instance outcome read
 * from the audit), deterministic sweeps go through the engine directly (truncation at every element
 * boundary and every length made to swallow through an identifying element, of two files; every
 * explicit sequence sent with each other long-form VR, of two more), and a
 * subset goes through the CLI process.
 *
 *   FUZZ_SEED=<n>|random   the seed (default fixed, printed)        FUZZ_CASES=<n>  random cases (3000)
 *   FUZZ_ONLY=c12,c40       only these cases (with the same seed)    FUZZ_REPORT=<file>  every failure, one per line
 */
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { multipart, splitMultipart, testApp, type TestApp } from "../helpers/app.js";
import { ROOT } from "../helpers/corpus.js";
import { anonymize } from "../helpers/engine.js";
import { requireTool } from "../helpers/tools.js";
import { dcmdumpRejects } from "./dcmtk.js";
import { makeCase, sqVrSweep, sweepCases, type FuzzCase, type Source } from "./mutate.js";
import { loadSources } from "./sources.js";
import { findNeedles, keywordOf, plantedNeedle, textLeaks, type Hit, type Needle } from "./needles.js";

const DEFAULT_SEED = 20260902;
const SEED =
  process.env.FUZZ_SEED === "random"
    ? Math.floor(Math.random() * 2 ** 31)
    : Number(process.env.FUZZ_SEED ?? DEFAULT_SEED);
const CASES = Number(process.env.FUZZ_CASES ?? 3000);
const ONLY = process.env.FUZZ_ONLY ? new Set(process.env.FUZZ_ONLY.split(",")) : undefined;
const BATCH = 40;
const BATCH_TIMEOUT_MS = 60_000;
const PROFILES = ["hipaa", "basic"] as const;
type Profile = (typeof PROFILES)[number];
if (!Number.isInteger(SEED) || !Number.isInteger(CASES) || CASES < 0)
  throw new Error("FUZZ_SEED and FUZZ_CASES must be integers");

const HAVE_DCMDUMP = requireTool("dcmdump", "dcmtk");
const CLI = path.join(ROOT, "dist/src/cli.js");
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "fuzz-"));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

interface Exclusions {
  /** Needles found in the engine's output of the pristine file (what the profile keeps by design, or a
   * coincidence): a mutation cannot be blamed for them. */
  readonly [key: string]: ReadonlySet<string>;
}

const needleKey = (n: Needle) => `${n.decoded ? "d" : "r"}:${n.raw}`;

function baselineExclusions(sources: readonly Source[]): { exclusions: Exclusions; named: string[] } {
  const exclusions: Record<string, Set<string>> = {};
  const named = new Set<string>();
  for (const s of sources) {
    for (const profile of PROFILES) {
      const set = new Set<string>();
      const outcome = anonymize(s.bytes, profile);
      if (outcome.status === "anonymized") {
        for (const h of findNeedles(outcome.output, s.needles)) {
          set.add(needleKey(h.needle));
          named.add(`${s.label} ${profile} ${h.keyword}`);
        }
      }
      exclusions[`${s.label}|${profile}`] = set;
    }
  }
  return { exclusions, named: [...named] };
}

/** What a verdict keeps of a case: everything but its bytes (20,000 cases of bytes would not fit). */
type CaseInfo = Omit<FuzzCase, "bytes">;

function needlesFor(c: CaseInfo, profile: Profile): Needle[] {
  const excluded = exclusions[`${c.source.label}|${profile}`] ?? new Set();
  const planted = c.planted.flatMap((p) => [
    p,
    ...p.raw
      .split("^")
      .filter((x) => x.length >= 4 && x !== p.raw)
      .map((x) => plantedNeedle(p.keyword, x)),
  ]);
  return [...c.source.needles.filter((n) => !excluded.has(needleKey(n))), ...planted];
}

type Outcome =
  | { readonly kind: "anonymized"; readonly output: Buffer }
  | { readonly kind: "failed"; readonly reason: unknown }
  | { readonly kind: "http"; readonly status: number; readonly detail: unknown }
  | { readonly kind: "hang" };

interface Verdict {
  readonly c: CaseInfo;
  readonly profile: Profile;
  readonly path: "http" | "engine" | "cli";
  readonly outcome: "anonymized" | "failed" | "4xx" | "5xx" | "hang";
  readonly problems: string[];
  /** Written for dcmdump, when anonymized. */
  file?: string;
  /** Set when the only leak is a value an implicit-VR tag flip moved under another known attribute. */
  undetectable?: string;
}

/**
 * In an Implicit VR dataset a one-bit tag flip can turn Patient ID into another attribute the
 * dictionary knows (Type of Patient ID, CS): no VR travels with the value, and the value fits its new
 * attribute, so no reader (dcmtk, pydicom, this engine) can tell it from real data; the original
 * identifying attribute is simply absent. Such a case is reported apart, by name and count (SECURITY.md,
 * residual risks), when every leak it has is a value of the flipped element. Anything else is a leak.
 */
function implicitFlipOntoKnown(c: Omit<FuzzCase, "bytes">, hits: readonly Hit[]): string | undefined {
  if (c.kind !== "tag" || hits.length === 0 || c.source.layout.syntax.explicitVr) return undefined;
  const m = /^tag:\(([0-9A-F]{4}),([0-9A-F]{4})\)->\(([0-9A-F]{4}),([0-9A-F]{4})\)@(\d+)/i.exec(c.mutation);
  if (!m) return undefined;
  const flipped = parseInt(m[3]! + m[4]!, 16);
  const known = keywordOf(flipped);
  if ((parseInt(m[3]!, 16) & 1) === 1 || /^\(/.test(known)) return undefined;
  const span = c.source.layout.elements.find((e) => e.offset === Number(m[5]));
  if (!span) return undefined;
  const value = c.source.layout.dataset.toString("latin1", span.valueOffset, span.valueOffset + span.length);
  return hits.every((h) => value.includes(h.needle.raw)) ? `${keywordOf(span.tag)} -> ${known}` : undefined;
}

class Ledger {
  readonly verdicts: Verdict[] = [];
  private n = 0;

  /** Records one outcome; an output goes to disk at once (checked later, so the event loop that also
   * serves the requests is not blocked between batches). */
  record({ bytes: _bytes, ...c }: FuzzCase, profile: Profile, via: Verdict["path"], o: Outcome): void {
    const needles = needlesFor(c, profile);
    const problems: string[] = [];
    let outcome: Verdict["outcome"];
    let file: string | undefined;
    if (o.kind === "anonymized") {
      outcome = "anonymized";
      file = path.join(tmp, `${via}-${profile}-${c.id}-${this.n++}.dcm`);
      fs.writeFileSync(file, o.output);
    } else if (o.kind === "failed") {
      outcome = "failed";
      if (typeof o.reason !== "string" || o.reason.trim() === "") problems.push("failed without a reason");
      else
        for (const k of new Set(textLeaks(o.reason, needles))) problems.push(`failure reason carries ${k}`);
    } else if (o.kind === "http") {
      outcome = o.status >= 500 ? "5xx" : "4xx";
      if (o.status >= 500) problems.push(`HTTP ${o.status}`);
      else if (!o.detail) problems.push(`HTTP ${o.status} without a problem detail`);
      else
        for (const k of new Set(textLeaks(JSON.stringify(o.detail), needles)))
          problems.push(`error body carries ${k}`);
    } else {
      outcome = "hang";
      problems.push("no answer in time (hang, in this case or its batch)");
    }
    this.verdicts.push({ c, profile, path: via, outcome, problems, file });
  }

  private checked = 0;

  /** The independent leak check on every output not checked yet, then dcmdump over them, many per call. */
  check(): void {
    const fresh = this.verdicts.slice(this.checked);
    this.checked = this.verdicts.length;
    for (const v of fresh) {
      if (!v.file) continue;
      const found = findNeedles(fs.readFileSync(v.file), needlesFor(v.c, v.profile));
      const moved = implicitFlipOntoKnown(v.c, found);
      if (moved) v.undetectable = moved;
      const hits = moved ? [] : found;
      const where = new Map<string, Set<string>>();
      for (const h of hits) where.set(h.keyword, (where.get(h.keyword) ?? new Set()).add(h.where));
      for (const [keyword, w] of where) v.problems.push(`leak ${keyword} (${[...w].join(", ")})`);
    }
    if (HAVE_DCMDUMP) {
      const files = fresh.flatMap((v) => (v.file ? [v.file] : []));
      const rejected = dcmdumpRejects(files);
      for (const v of fresh)
        if (v.file && rejected.has(v.file)) v.problems.push("invalid output (dcmdump rejects it)");
    }
    for (const v of fresh) if (v.file) fs.rmSync(v.file, { force: true });
  }

  failures(): Verdict[] {
    return this.verdicts.filter((v) => v.problems.length > 0);
  }
}

function line(v: Verdict): string {
  return `${v.c.id} [${v.c.mutation}] ${v.c.source.label} (${v.profile}, ${v.path}): ${v.problems.join("; ")}`;
}

/** "length:swallow-next(3) (0008,0060)@156" -> "length:swallow-next"; VR swaps by source VR and form. */
function variantOf(mutation: string): string {
  const [kind, rest = ""] = mutation.split(" ")[0]!.split(":") as [string, string?];
  if (kind === "bitflip") return rest.startsWith("meta") ? "bitflip:meta" : "bitflip:dataset";
  if (kind === "tag") return "tag:one-bit-flip";
  if (kind === "plant" || kind === "nest") return `${kind}`;
  if (kind === "vr") return `vr:${rest.replace(/->(?!zero|garbage|lowercase)[A-Z]{2}/, "->other VR")}`;
  return `${kind}:${rest.replace(/[(@].*$/, "")}`;
}

function byKind(verdicts: readonly Verdict[]): string {
  const counts = new Map<string, [number, number]>();
  for (const v of verdicts) {
    const [ok, all] = counts.get(v.c.kind) ?? [0, 0];
    counts.set(v.c.kind, [ok + (v.outcome === "anonymized" ? 1 : 0), all + 1]);
  }
  return [...counts].map(([k, [ok, all]]) => `${k} ${ok}/${all}`).join(", ");
}

/** Counts by mutation variant and problem, for a summary a person can read. */
function classes(failures: readonly Verdict[]): string[] {
  const counts = new Map<string, { n: number; first: string }>();
  for (const v of failures) {
    const variant = variantOf(v.c.mutation);
    for (const p of v.problems) {
      const key = `${p.replace(/\(\d+\)/g, "")} <- ${variant}`;
      const entry = counts.get(key) ?? { n: 0, first: v.c.id };
      entry.n++;
      counts.set(key, entry);
    }
  }
  return [...counts.entries()]
    .sort((a, b) => b[1].n - a[1].n)
    .map(([k, { n, first }]) => `${String(n).padStart(5)}  ${k}  (e.g. ${first})`);
}

/** The implicit-VR tag flips reported apart (see implicitFlipOntoKnown), loudly, by attribute. */
function undetectableLines(verdicts: readonly Verdict[]): string[] {
  const moved = verdicts.filter((v) => v.undetectable);
  if (moved.length === 0) return [];
  const by = new Map<string, string[]>();
  for (const v of moved) by.set(v.undetectable!, [...(by.get(v.undetectable!) ?? []), v.c.id]);
  return [
    `NOT A PASS, A KNOWN LIMIT: ${moved.length} implicit-VR tag flip(s) moved an identifying value under another known attribute (SECURITY.md, residual risks):`,
    ...[...by].map(([what, ids]) => `    ${what}: ${ids.length} (e.g. ${ids[0]})`),
  ];
}

function report(title: string, ledger: Ledger, ms: number): string {
  const v = ledger.verdicts;
  const count = (o: Verdict["outcome"]) => v.filter((x) => x.outcome === o).length;
  const failures = ledger.failures();
  const leaks = failures.filter((f) => f.problems.some((p) => p.startsWith("leak"))).length;
  const invalid = failures.filter((f) => f.problems.some((p) => p.startsWith("invalid output"))).length;
  const text = [
    `${title}: seed=${SEED} cases=${v.length} in ${(ms / 1000).toFixed(1)} s: anonymized ${count("anonymized")}, ` +
      `failed with a reason ${count("failed")}, 4xx ${count("4xx")}, 5xx ${count("5xx")}, hangs ${count("hang")}; ` +
      `leaks ${leaks}, invalid outputs ${invalid}, cases with a problem ${failures.length}`,
    `de-identified / cases by mutation: ${byKind(v)}`,
    ...undetectableLines(v),
    ...(failures.length ? ["by class:", ...classes(failures)] : []),
    ...(failures.length ? ["first failures:", ...failures.slice(0, 30).map(line)] : []),
    `reproduce: FUZZ_SEED=${SEED} FUZZ_CASES=${CASES} [FUZZ_ONLY=<ids>] npx vitest run test/fuzz/mutations.test.ts`,
  ].join("\n");
  if (process.env.FUZZ_REPORT)
    fs.appendFileSync(process.env.FUZZ_REPORT, `${text}\n${failures.map(line).join("\n")}\n`);
  return text;
}

let sources: Source[];
let exclusions: Exclusions;
/** Case indices to run; each case is built when its batch is sent. */
let indices: number[];
let t: TestApp;

beforeAll(async () => {
  const started = Date.now();
  sources = loadSources(SEED);
  const baseline = baselineExclusions(sources);
  exclusions = baseline.exclusions;
  indices = [];
  for (let i = 0; i < CASES; i++) if (!ONLY || ONLY.has(`c${i}`)) indices.push(i);
  t = await testApp();
  console.log(
    `fuzz: seed=${SEED} (FUZZ_SEED), ${indices.length} cases (FUZZ_CASES) over ${sources.length} sources; ` +
      `needles excluded by the pristine baseline: ${baseline.named.join("; ") || "none"}; set up in ${Date.now() - started} ms`,
  );
}, 600_000);
afterAll(async () => t?.app.close());

const profileOf = (index: number): Profile => PROFILES[index % 2]!;

async function post(
  batch: readonly FuzzCase[],
  profile: Profile,
): Promise<{ status: number; body: Buffer; type: string } | "hang"> {
  const boundary = `fuzz-${SEED}-${batch[0]!.id}-a8c2f0e9d4b7`;
  const payload = multipart(
    batch.map((c) => ({ type: "application/dicom", data: c.bytes })),
    boundary,
  );
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<"hang">((resolve) => {
    timer = setTimeout(() => resolve("hang"), BATCH_TIMEOUT_MS);
  });
  const res = await Promise.race([
    t.app.inject({
      method: "POST",
      url: `/anonymize?profile=${profile}`,
      headers: {
        "content-type": `multipart/related; type="application/dicom"; boundary=${boundary}`,
        accept: "multipart/mixed",
      },
      payload,
    }),
    timeout,
  ]);
  clearTimeout(timer);
  if (res === "hang") return res;
  return { status: res.statusCode, body: res.rawPayload, type: String(res.headers["content-type"] ?? "") };
}

/** One batch through /anonymize; a batch answered other than 200/202/422 is re-sent case by case. */
let retries503 = 0;

async function runBatch(batch: readonly FuzzCase[], profile: Profile, ledger: Ledger): Promise<void> {
  let res = await post(batch, profile);
  // 503 + Retry-After is the service protecting itself (this process is also the test's: its event
  // loop stalls while outputs are written); wait and send again, a few times, before blaming a case.
  for (let attempt = 1; res !== "hang" && res.status === 503 && attempt <= 8; attempt++) {
    retries503++;
    await new Promise((resolve) => setTimeout(resolve, 500 * attempt));
    res = await post(batch, profile);
  }
  if (res !== "hang" && (res.status === 200 || res.status === 202)) {
    const parts = splitMultipart(res.body, res.type);
    const audit = JSON.parse(parts[0]!.data.toString()) as {
      instances: Array<{ index: number; status: string; reason?: string }>;
    };
    let next = 1;
    batch.forEach((c, i) => {
      const entry = audit.instances.find((x) => x.index === i);
      if (entry?.status === "anonymized")
        ledger.record(c, profile, "http", { kind: "anonymized", output: parts[next++]!.data });
      else ledger.record(c, profile, "http", { kind: "failed", reason: entry?.reason });
    });
    return;
  }
  if (res !== "hang" && res.status === 422) {
    const problem = JSON.parse(res.body.toString()) as {
      instances?: Array<{ index: number; reason?: string }>;
    };
    batch.forEach((c, i) =>
      ledger.record(c, profile, "http", {
        kind: "failed",
        reason: problem.instances?.find((x) => x.index === i)?.reason,
      }),
    );
    return;
  }
  // A batch that does not answer holds a worker: re-sending its cases one by one would take a
  // timeout each. Every case of it is reported (the hang is among them).
  if (res === "hang") {
    for (const c of batch) ledger.record(c, profile, "http", { kind: "hang" });
    return;
  }
  if (batch.length === 1) {
    const c = batch[0]!;
    {
      let detail: unknown;
      try {
        detail = (JSON.parse(res.body.toString()) as { detail?: unknown }).detail;
      } catch {
        detail = undefined;
      }
      ledger.record(c, profile, "http", { kind: "http", status: res.status, detail });
    }
    return;
  }
  for (const c of batch) await runBatch([c], profile, ledger);
}

describe("fuzzing the corpus", () => {
  it("through POST /anonymize: every case is a valid, leak-free instance or a failure with a reason", async () => {
    const started = Date.now();
    const ledger = new Ledger();
    for (const profile of PROFILES) {
      const mine = indices.filter((i) => profileOf(i) === profile);
      // Two batches in flight keep both engine workers busy; outputs are checked after each pair.
      for (let i = 0; i < mine.length; i += 2 * BATCH) {
        const pair = [mine.slice(i, i + BATCH), mine.slice(i + BATCH, i + 2 * BATCH)].filter((b) => b.length);
        await Promise.all(
          pair.map((b) =>
            runBatch(
              b.map((n) => makeCase(SEED, n, sources)),
              profile,
              ledger,
            ),
          ),
        );
        ledger.check();
      }
    }
    const logLeaks = new Set<string>();
    const allLogs = t.logs.join("\n");
    for (const s of sources) for (const k of textLeaks(allLogs, s.needles)) logLeaks.add(`${s.label}: ${k}`);
    const text = `${report("fuzz /anonymize", ledger, Date.now() - started)}\n(503 answers retried: ${retries503})`;
    console.log(text);
    expect([...logLeaks], "identifying values in the service's logs").toEqual([]);
    if (ledger.failures().length > 0) throw new Error(text);
  }, 1_800_000);

  it("through the engine: every element boundary, every swallowing length, every sequence sent with another VR", () => {
    const started = Date.now();
    const ledger = new Ledger();
    const sweeps: Array<[string, (s: Source) => FuzzCase[]]> = [
      ["public/rtplan-implicit-le.dcm", sweepCases],
      ["public/sr-basic-text-pname.dcm", sweepCases],
      ["public/waveform-hemodynamic-deflate.dcm", sqVrSweep],
      ["public/sr-comprehensive-verifying-observer.dcm", sqVrSweep],
    ];
    for (const [label, sweep] of sweeps) {
      const source = sources.find((s) => s.label === label);
      if (!source) throw new Error(`${label} is not among the fuzz sources`);
      for (const c of sweep(source)) {
        if (ONLY && !ONLY.has(c.id)) continue;
        for (const profile of PROFILES) {
          const o = anonymize(c.bytes, profile);
          ledger.record(
            c,
            profile,
            "engine",
            o.status === "anonymized"
              ? { kind: "anonymized", output: o.output }
              : { kind: "failed", reason: o.reason },
          );
        }
      }
    }
    ledger.check();
    const text = report("fuzz engine sweeps", ledger, Date.now() - started);
    console.log(text);
    if (ledger.failures().length > 0) throw new Error(text);
  }, 600_000);

  it("through the CLI process: a case per source, with the same checks", () => {
    if (!fs.existsSync(CLI)) throw new Error(`${CLI} is missing: run "npm run build" (npm test does) first`);
    const started = Date.now();
    // The issue's own case first: rtplan's Modality (CS) swallowing through Patient ID (the CLI leaked it).
    const rtplan = sources.find((s) => s.label === "public/rtplan-implicit-le.dcm")!;
    const issueCase = sweepCases(rtplan).find(
      (c) => c.mutation === "length:swallow-through(0010,0020) (0008,0060)@156",
    );
    if (!issueCase) throw new Error("the Modality-swallows-Patient-ID case is missing from the sweep");
    const seen = new Set<string>([rtplan.label]);
    const subset: FuzzCase[] = ONLY && !ONLY.has(issueCase.id) ? [] : [issueCase];
    for (const i of indices) {
      if (subset.length === 31) break;
      const c = makeCase(SEED, i, sources);
      if (seen.has(c.source.label) || !["length", "plant", "tag", "nest", "vr"].includes(c.kind)) continue;
      seen.add(c.source.label);
      subset.push(c);
    }
    const inDir = path.join(tmp, "cli-in");
    const outDir = path.join(tmp, "cli-out");
    fs.mkdirSync(inDir, { recursive: true });
    const byPath = new Map<string, FuzzCase>();
    for (const c of subset) {
      const file = path.join(inDir, `${c.id}.dcm`);
      fs.writeFileSync(file, c.bytes);
      byPath.set(file, c);
    }
    const audit = path.join(tmp, "cli-audit.json");
    const r = spawnSync(
      process.execPath,
      [CLI, "anonymize", ...byPath.keys(), "--out", outDir, "--profile", "hipaa", "--audit", audit],
      {
        encoding: "utf8",
        env: { ...process.env, UID_SECRET: "fuzz-cli-secret" },
        timeout: 300_000,
      },
    );
    const ledger = new Ledger();
    expect(r.signal, "the CLI was killed (timeout) or crashed").toBeNull();
    expect([0, 1], `CLI exit status (stderr has ${r.stderr.length} characters)`).toContain(r.status);
    const result = JSON.parse(fs.readFileSync(audit, "utf8")) as {
      instances: Array<{ source: string; status: string; sopInstanceUID?: string; reason?: string }>;
    };
    expect(result.instances).toHaveLength(subset.length);
    for (const entry of result.instances) {
      const c = byPath.get(entry.source) ?? byPath.get(path.resolve(entry.source));
      if (!c) throw new Error("the CLI audit names a source that was not given");
      if (entry.status === "anonymized") {
        const out = path.join(outDir, `${entry.sopInstanceUID}.dcm`);
        if (!fs.existsSync(out)) ledger.record(c, "hipaa", "cli", { kind: "failed", reason: "" });
        else ledger.record(c, "hipaa", "cli", { kind: "anonymized", output: fs.readFileSync(out) });
      } else ledger.record(c, "hipaa", "cli", { kind: "failed", reason: entry.reason });
    }
    for (const s of new Set(subset.map((c) => c.source)))
      expect(textLeaks(r.stdout + r.stderr, s.needles), "identifying values on the CLI's terminal").toEqual(
        [],
      );
    ledger.check();
    const text = report("fuzz CLI", ledger, Date.now() - started);
    console.log(text);
    if (ledger.failures().length > 0) throw new Error(text);
  }, 600_000);
});
