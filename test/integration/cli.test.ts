/** The CLI as a whole process, the way an operator runs it. */
import { execFileSync, spawnSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { CORPUS_DIR, ROOT } from "../helpers/corpus.js";
import { readWithDcmjs } from "../helpers/dicom.js";

const CLI = path.join(ROOT, "dist/src/cli.js");
if (!fs.existsSync(CLI))
  throw new Error(`${CLI} is missing: run "npm run build" (npm test does) before these tests`);

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "cli-test-"));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

function cli(args: string[], env: Record<string, string> = { UID_SECRET: "cli-test-secret" }) {
  const r = spawnSync(process.execPath, [CLI, ...args], {
    encoding: "utf8",
    env: { ...process.env, ...env },
  });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

function inputDir(name: string, files: string[]): string {
  const dir = path.join(tmp, name);
  fs.mkdirSync(dir, { recursive: true });
  for (const f of files) fs.copyFileSync(path.join(CORPUS_DIR, f), path.join(dir, f));
  return dir;
}

const GOOD = ["ct-implicit-le-ge.dcm", "mr-small-implicit-le.dcm", "us-rgb-explicit-be.dcm"];

describe("dicomweb-anonymizer anonymize", () => {
  it("de-identifies a directory, reports failures, writes the audit and exits 1 when anything failed", () => {
    const input = inputDir("mixed", [...GOOD, "malformed-mr-truncated-pixeldata.dcm"]);
    const out = path.join(tmp, "out-mixed");
    const audit = path.join(tmp, "audit.json");
    const r = cli(["anonymize", input, "--out", out, "--profile", "hipaa", "--audit", audit]);
    expect(r.status).toBe(1);
    expect(r.stdout).toMatch(/hipaa: 3 anonymized, 1 failed of 4/);
    expect(r.stdout).toMatch(/failed: .*malformed-mr-truncated-pixeldata\.dcm: element \(7FE0,0010\)/);
    expect(fs.readdirSync(out).filter((f) => /^2\.25\.\d+\.dcm$/.test(f))).toHaveLength(3);
    const report = JSON.parse(fs.readFileSync(audit, "utf8"));
    expect(report.summary).toEqual({ total: 4, anonymized: 3, failed: 1 });
    expect(report.profile).toMatchObject({ name: "hipaa" });
    const entry = report.instances.find((i: { status: string }) => i.status === "anonymized");
    expect(entry.changes.length).toBeGreaterThan(5);
    expect(entry.changes[0]).toHaveProperty("tag");
    expect(entry.changes.every((c: Record<string, unknown>) => !("before" in c))).toBe(true);
    // Nothing of the patients reaches the terminal.
    for (const marker of ["CompressedSamples", "CT1_UNC", "Anonymized"])
      expect(r.stdout + r.stderr).not.toContain(marker);
  });

  it("exits 0 when everything was de-identified; one worker or two give the same bytes", () => {
    const input = inputDir("good", GOOD);
    const [one, two] = ["1", "2"].map((jobs) => {
      const out = path.join(tmp, `out-jobs-${jobs}`);
      expect(cli(["anonymize", input, "--out", out, "--profile", "basic", "--jobs", jobs]).status).toBe(0);
      return Object.fromEntries(
        fs.readdirSync(out).map((f) => [f, fs.readFileSync(path.join(out, f)).toString("base64")]),
      );
    });
    expect(Object.keys(one!)).toHaveLength(3);
    expect(two).toEqual(one);
  });

  it("warns when no UID secret is configured", () => {
    const env = { ...process.env } as Record<string, string>;
    delete env.UID_SECRET;
    const r = spawnSync(
      process.execPath,
      [CLI, "anonymize", path.join(CORPUS_DIR, GOOD[0]!), "--out", path.join(tmp, "o3")],
      { encoding: "utf8", env },
    );
    expect(r.status).toBe(0);
    expect(r.stderr).toMatch(/UID_SECRET is not set/);
  });

  it("usage errors exit 2; an unknown profile is named", () => {
    expect(cli(["anonymize"]).status).toBe(2);
    const r = cli(["anonymize", CORPUS_DIR, "--out", path.join(tmp, "o4"), "--profile", "nope"]);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/unknown profile "nope"/);
  });
});

/** A copy of a corpus file whose SOP Instance UID (and its meta copy) dcmodify sets to `uid`. */
function withSopInstanceUid(dir: string, name: string, source: string, uid: string): string {
  fs.mkdirSync(dir, { recursive: true });
  const file = path.join(dir, name);
  fs.copyFileSync(path.join(CORPUS_DIR, source), file);
  execFileSync("dcmodify", ["-nb", "-q", "-m", `(0008,0018)=${uid}`, file]); // updates the meta copy too
  return file;
}

const listTree = (dir: string): string[] =>
  fs.existsSync(dir) ? fs.readdirSync(dir, { recursive: true }).map(String).sort() : [];

describe("dicomweb-anonymizer anonymize: hostile input and faults", () => {
  it("never names an output outside --out: an invalid UID with the standard prefix is remapped", () => {
    const base = path.join(tmp, "traversal-std");
    const escaped = path.join(base, "escaped");
    fs.mkdirSync(escaped, { recursive: true }); // where ../../../escaped/ leads from --out
    const input = withSopInstanceUid(
      path.join(base, "in"),
      "a.dcm",
      "mr-small-implicit-le.dcm",
      "1.2.840.10008.9/../../../escaped/pwned1",
    );
    const out = path.join(base, "a", "b");
    const r = cli(["anonymize", input, "--out", out, "--profile", "hipaa"]);
    expect(listTree(escaped)).toEqual([]);
    expect(r.status).toBe(0);
    expect(listTree(out)).toEqual([expect.stringMatching(/^2\.25\.\d+\.dcm$/)]);
  });

  it("refuses an instance whose invalid SOP Instance UID a profile keeps (retainUIDs); the rest goes on", () => {
    const base = path.join(tmp, "traversal-retain");
    const escaped = path.join(base, "escaped");
    fs.mkdirSync(escaped, { recursive: true });
    const dir = path.join(base, "in");
    withSopInstanceUid(dir, "bad.dcm", "mr-small-implicit-le.dcm", "1.2.3/../../escaped/pwned2");
    fs.copyFileSync(path.join(CORPUS_DIR, "us-rgb-explicit-be.dcm"), path.join(dir, "good.dcm"));
    const profile = path.join(base, "keep-uids.json");
    fs.writeFileSync(
      profile,
      JSON.stringify({
        name: "keep-uids",
        description: "",
        version: "1",
        extends: "basic",
        options: ["retainUIDs"],
        rules: [],
      }),
    );
    const out = path.join(base, "out");
    const audit = path.join(base, "audit.json");
    const r = cli(["anonymize", dir, "--out", out, "--profile", profile, "--audit", audit]);
    expect(listTree(escaped)).toEqual([]);
    expect(r.status).toBe(1);
    expect(r.stdout).toMatch(/failed: .*bad\.dcm: .*\(0008,0018\)/);
    expect(r.stdout).not.toContain("pwned2");
    // The good instance keeps its (valid) UID, as retainUIDs asks.
    expect(listTree(out)).toEqual([expect.stringMatching(/^[0-9.]+\.dcm$/)]);
    expect(JSON.parse(fs.readFileSync(audit, "utf8")).summary).toEqual({
      total: 2,
      anonymized: 1,
      failed: 1,
    });
  });

  it("a write that fails (file size limit) is that file's failure: no truncated output, the audit is written", () => {
    // The full disk is simulated with RLIMIT_FSIZE (ulimit -f): a write past 100 KiB fails with EFBIG
    // after writing what fits, as ENOSPC does on a full disk.
    const input = inputDir("fsize", [
      "mr-small-implicit-le.dcm",
      "us-rgb-explicit-be.dcm",
      "ct-implicit-le-ge.dcm",
    ]);
    const out = path.join(tmp, "out-fsize");
    const audit = path.join(tmp, "audit-fsize.json");
    const r = spawnSync(
      "bash",
      [
        "-c",
        'ulimit -f 100 && exec "$@"',
        "-",
        process.execPath,
        CLI,
        "anonymize",
        input,
        "--out",
        out,
        "--audit",
        audit,
      ],
      { encoding: "utf8", env: { ...process.env, UID_SECRET: "cli-test-secret" } },
    );
    expect(r.status).toBe(1);
    expect(r.stdout).toMatch(/failed: .*ct-implicit-le-ge\.dcm: cannot write the output: EFBIG/);
    // Two complete outputs and nothing else: no partial file under the final name or a temporary one.
    const files = fs.readdirSync(out);
    expect(files).toHaveLength(2);
    for (const f of files) {
      expect(f).toMatch(/^2\.25\.\d+\.dcm$/);
      expect(() => readWithDcmjs(fs.readFileSync(path.join(out, f)))).not.toThrow();
    }
    const report = JSON.parse(fs.readFileSync(audit, "utf8"));
    expect(report.summary).toEqual({ total: 3, anonymized: 2, failed: 1 });
  });

  it("follows symbolic links in an input directory, lists a loop as skipped and a dangling link as failed", () => {
    const base = path.join(tmp, "links");
    const dir = inputDir("links/in", ["mr-small-implicit-le.dcm"]);
    const elsewhere = inputDir("links/elsewhere", ["us-rgb-explicit-be.dcm"]);
    fs.symlinkSync(path.join(CORPUS_DIR, "rtplan-implicit-le.dcm"), path.join(dir, "linked-file.dcm"));
    fs.symlinkSync(elsewhere, path.join(dir, "linked-dir"));
    fs.symlinkSync(dir, path.join(dir, "loop"));
    fs.symlinkSync(path.join(base, "nowhere.dcm"), path.join(dir, "dangling.dcm"));
    const out = path.join(base, "out");
    const audit = path.join(base, "audit.json");
    const r = cli(["anonymize", dir, "--out", out, "--profile", "basic", "--audit", audit]);
    expect(r.status).toBe(1);
    expect(r.stdout).toMatch(/basic: 3 anonymized, 1 failed of 4/);
    expect(r.stdout).toMatch(/failed: .*dangling\.dcm: cannot read: ENOENT/);
    expect(r.stdout).toMatch(/skipped: .*loop: /);
    expect(fs.readdirSync(out)).toHaveLength(3);
    const report = JSON.parse(fs.readFileSync(audit, "utf8"));
    expect(report.skipped).toEqual([{ source: path.join(dir, "loop"), reason: expect.any(String) }]);
    expect(report.instances.map((i: { source: string }) => path.basename(i.source)).sort()).toEqual([
      "dangling.dcm",
      "linked-file.dcm",
      "mr-small-implicit-le.dcm",
      "us-rgb-explicit-be.dcm",
    ]);
  });

  it("an --out that cannot be created exits 2 with a message instead of spinning", () => {
    for (const out of ["/proc/self/nope", "/proc/self/nope/deeper"]) {
      const r = spawnSync(
        process.execPath,
        [CLI, "anonymize", path.join(CORPUS_DIR, GOOD[0]!), "--out", out],
        {
          encoding: "utf8",
          env: { ...process.env, UID_SECRET: "x" },
          timeout: 20_000,
          killSignal: "SIGKILL",
        },
      );
      expect(r.signal).toBeNull(); // not killed by the timeout
      expect(r.status).toBe(2);
      expect(r.stderr).toContain(`--out ${out}: cannot create the output directory (ENOENT)`);
    }
    const file = path.join(tmp, "a-file");
    fs.writeFileSync(file, "");
    const f = cli(["anonymize", path.join(CORPUS_DIR, GOOD[0]!), "--out", file]);
    expect(f.status).toBe(2);
    expect(f.stderr).toMatch(/is not a directory/);
    const g = cli(["anonymize", path.join(CORPUS_DIR, GOOD[0]!), "--out", path.join(file, "sub")]);
    expect(g.status).toBe(2);
    expect(g.stderr).toMatch(/cannot create the output directory \(ENOTDIR\)/);
  });
});
