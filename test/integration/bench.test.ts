/** The benchmark suite runs (tiny counts); its numbers are never asserted here. */
import { execFile } from "node:child_process";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { ROOT } from "../helpers/corpus.js";

describe("npm run bench", () => {
  it("runs end to end and prints every corpus and the memory table", async () => {
    // Asynchronously: a minute-long spawnSync would block this test worker's event loop, and vitest's
    // own messages to it time out ("Timeout calling onTaskUpdate").
    const r = await new Promise<{ status: number | null; stdout: string; stderr: string }>((resolve) => {
      execFile(
        process.execPath,
        [path.join(ROOT, "dist/bench/run.js"), "--quick", "--runs", "1"],
        { encoding: "utf8", timeout: 140_000, maxBuffer: 16 * 1024 * 1024 },
        (error, stdout, stderr) =>
          resolve({ status: error ? (typeof error.code === "number" ? error.code : -1) : 0, stdout, stderr }),
      );
    });
    expect(r.stderr).toBe("");
    expect(r.status).toBe(0);
    for (const heading of [
      "### CT series",
      "### large multi-frame",
      "### tiny",
      "### pixel step",
      "### memory",
    ])
      expect(r.stdout).toContain(heading);
    for (const row of [
      "CLI hipaa, 1 worker (default)",
      "naive dcmjs read-modify-write",
      "POST /anonymize hipaa, 4 clients",
      "engine in-process hipaa, 1 thread",
    ]) {
      expect(r.stdout).toContain(`| ${row} |`);
    }
    // The pixel rows, each beside the header-only path of the same input.
    for (const input of ["1024x768 US (Philips EPIQ)", "3-frame 1024x768 cine (built from it)"])
      for (const row of [
        "engine in-process, hipaa (header only)",
        "engine in-process, pixel, detector off (templates)",
        "engine in-process, pixel (templates + detector)",
        "CLI (whole process), pixel, detector off (templates)",
        "CLI (whole process), pixel (templates + detector)",
      ])
        expect(r.stdout).toContain(`| ${input} | ${row} |`);
    // Both cores: the detector in the engine worker beside the shared detector pool.
    for (const input of [
      "1024x768 US (Philips EPIQ)",
      "3-frame 1024x768 cine (built from it)",
      "3-frame 1024x768 cine, only a 600x540 sector moving",
    ])
      for (const row of ["detector in the worker", "detector pool \\(\\d+ threads\\)"])
        expect(r.stdout).toMatch(
          new RegExp(`\\| ${input.replace(/[()]/g, "\\$&")} \\| engine pool \\(\\d+ workers\\), ${row} \\|`),
        );
  }, 150_000);
});
