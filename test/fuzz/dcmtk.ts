/** dcmtk's dcmdump over many files per call (it takes several), with failures attributed to files. */
import { spawnSync } from "node:child_process";

const PER_CALL = 150;

/** The files dcmdump cannot read (exit status or an error naming the file). */
export function dcmdumpRejects(files: readonly string[]): Set<string> {
  const rejected = new Set<string>();
  for (let i = 0; i < files.length; i += PER_CALL) {
    const chunk = files.slice(i, i + PER_CALL);
    const r = dump(chunk);
    if (r.status === 0) continue;
    const named = new Set(
      [...r.stderr.matchAll(/^E: dcmdump: .*reading file: (.+)$/gm)].map((m) => m[1]!.trim()),
    );
    for (const f of chunk) if (named.has(f)) rejected.add(f);
    // An exit status without a file named: ask file by file rather than guess.
    if (named.size === 0 || r.status === null)
      for (const f of chunk) if (dump([f]).status !== 0) rejected.add(f);
  }
  return rejected;
}

function dump(files: readonly string[]): { status: number | null; stderr: string } {
  // +E: do not print a damaged file (and fail); stdout is not needed, only the verdict.
  const r = spawnSync("dcmdump", ["+E", ...files], {
    encoding: "latin1",
    stdio: ["ignore", "ignore", "pipe"],
    maxBuffer: 64 * 1024 * 1024,
    timeout: 120_000,
  });
  return { status: r.status, stderr: r.stderr ?? "" };
}
