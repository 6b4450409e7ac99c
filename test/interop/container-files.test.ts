/**
 * There is no Docker engine on these machines, so the container files are checked statically: the
 * Dockerfile by dockerfile-utils (the linter behind VS Code's Dockerfile support) plus the project's
 * own rules, docker-compose.yml by Debian's docker-compose (`config` needs no engine).
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { validate } from "dockerfile-utils";
import { describe, expect, it } from "vitest";
import { ROOT } from "../helpers/corpus.js";
import { requireTool, run } from "../helpers/tools.js";

const dockerfile = fs.readFileSync(path.join(ROOT, "Dockerfile"), "utf8");

describe("Dockerfile", () => {
  it("passes the linter", () => {
    expect(validate(dockerfile).map((d) => `${d.range.start.line + 1}: ${d.message}`)).toEqual([]);
  });

  it("is multi-stage, runs as a non-root user, has a HEALTHCHECK and ships what the service needs", () => {
    expect(dockerfile.match(/^FROM /gm)?.length).toBeGreaterThanOrEqual(2);
    const runtime = dockerfile.slice(dockerfile.lastIndexOf("\nFROM "));
    expect(runtime).toMatch(/^USER (?!root)\w+/m);
    expect(runtime).toMatch(/^HEALTHCHECK .*\/healthz/ms);
    for (const needed of ["profiles", "openapi.yaml", "dist"]) expect(runtime).toContain(needed);
    expect(runtime).toMatch(/npm ci --omit=dev/);
  });
});

const HAVE_COMPOSE = requireTool("docker-compose", "docker-compose");

describe.runIf(HAVE_COMPOSE)("docker-compose.yml", () => {
  it("is valid, and defines the service, job workers, Orthanc with DICOMweb and Redis", () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "compose-"));
    fs.copyFileSync(path.join(ROOT, "docker-compose.yml"), path.join(dir, "docker-compose.yml"));
    fs.writeFileSync(path.join(dir, ".env"), "UID_SECRET=test\n");
    const r = run("docker-compose", [
      "--project-directory",
      dir,
      "-f",
      path.join(dir, "docker-compose.yml"),
      "config",
      "--services",
    ]);
    fs.rmSync(dir, { recursive: true });
    expect(r.stderr).toBe("");
    expect(r.stdout.trim().split("\n").sort()).toEqual(["anonymizer", "orthanc", "redis", "worker"]);
  });
});

describe("configuration is documented", () => {
  it("every variable config.ts reads is in .env.example and the README", () => {
    const source = fs.readFileSync(path.join(ROOT, "src/config.ts"), "utf8");
    const names = [...new Set([...source.matchAll(/env(?:\.|, ")([A-Z][A-Z_]+)/g)].map((m) => m[1]!))];
    expect(names.length).toBeGreaterThan(8);
    const example = fs.readFileSync(path.join(ROOT, ".env.example"), "utf8");
    const readme = fs.readFileSync(path.join(ROOT, "README.md"), "utf8");
    for (const name of names) {
      expect(example, `${name} in .env.example`).toMatch(new RegExp(`^${name}=`, "m"));
      expect(readme, `${name} in README`).toContain(`\`${name}\``);
    }
  });
});
