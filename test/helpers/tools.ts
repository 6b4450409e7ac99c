/**
 * External tools (dcmtk, dicom3tools...). A test that needs one that is absent says so loudly; under
 * CI (CI=true, where .ci/run installs them) an absent tool is a failure, never a skip.
 */
import { execFileSync, spawnSync } from "node:child_process";

export function hasTool(name: string): boolean {
  return spawnSync("sh", ["-c", `command -v ${name}`]).status === 0;
}

/** True when the tool is there; otherwise warns (locally) or throws (CI). */
export function requireTool(name: string, debianPackage: string): boolean {
  if (hasTool(name)) return true;
  const message = `${name} is not installed: tests that need it are SKIPPED. Install it with: apt-get install ${debianPackage}`;
  if (process.env.CI) throw new Error(message);
  console.warn(`\n!!! ${message}\n`);
  return false;
}

export function run(name: string, args: string[]): { status: number; stdout: string; stderr: string } {
  const r = spawnSync(name, args, { encoding: "latin1", maxBuffer: 64 * 1024 * 1024 });
  return { status: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

export { execFileSync };
