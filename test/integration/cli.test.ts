/** The CLI as a whole process, the way an operator runs it. */
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { CORPUS_DIR, ROOT } from "../helpers/corpus.js";

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
