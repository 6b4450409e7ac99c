/** One file through the engine, as the CLI does it: read, anonymize, write `<new SOP Instance UID>.dcm`. */
import fs from "node:fs";
import path from "node:path";
import { anonymizeInstance, type PhaseTimings } from "../engine/anonymize.js";
import type { AuditEntry } from "../engine/apply.js";
import type { Plan } from "../engine/plan.js";
import { UidMapper } from "../engine/uid-map.js";
import { builtinProfileDir, ProfileRegistry } from "../profiles/registry.js";

export interface JobSettings {
  readonly profile: string;
  readonly profilesDir?: string;
  readonly secretHex: string;
  readonly outDir: string;
  /** Return every instance's changes (for --audit); otherwise only counts cross the thread boundary. */
  readonly withChanges: boolean;
}

export interface FileResult {
  readonly index: number;
  readonly source: string;
  readonly status: "anonymized" | "failed";
  readonly sopInstanceUID?: string;
  readonly output?: string;
  readonly code?: string;
  readonly reason?: string;
  readonly changes?: readonly AuditEntry[];
  readonly changeCount?: number;
  readonly inputBytes: number;
  readonly outputBytes: number;
  readonly timings?: PhaseTimings;
}

export function loadPlan(profile: string, profilesDir?: string): Plan {
  const registry = ProfileRegistry.load(
    profilesDir ? [builtinProfileDir(), profilesDir] : [builtinProfileDir()],
  );
  const named = registry.get(profile);
  if (named) return named;
  if (profile.endsWith(".json") && fs.existsSync(profile)) {
    return registry.compileCustom(JSON.parse(fs.readFileSync(profile, "utf8")), profile);
  }
  throw new Error(
    `unknown profile "${profile}" (known: ${registry.names().join(", ")}; or give a .json file)`,
  );
}

/** A buffer that grows to the largest size asked for and is then reused. */
class ReusableBuffer {
  private buf = Buffer.allocUnsafe(0);

  take(size: number): Buffer {
    if (this.buf.length < size) this.buf = Buffer.allocUnsafe(Math.max(size, this.buf.length * 2));
    return this.buf.subarray(0, size);
  }
}

/**
 * Runs files one at a time. Input and output bytes live in two reused buffers: each output is written
 * away before the next file is read, and fresh half-megabyte buffers per file would cost a page fault
 * storm that serialises worker threads on the process's memory map.
 */
export class FileJob {
  private readonly uids: UidMapper;
  private readonly inputBuffer = new ReusableBuffer();
  private readonly outputBuffer = new ReusableBuffer();

  constructor(
    private readonly plan: Plan,
    secret: Buffer,
    private readonly outDir: string,
    private readonly withChanges: boolean,
  ) {
    this.uids = new UidMapper(secret);
  }

  run(index: number, source: string): FileResult {
    let input: Buffer;
    try {
      input = readInto(source, this.inputBuffer);
    } catch (error) {
      return {
        index,
        source,
        status: "failed",
        code: "READ",
        reason: `cannot read: ${(error as NodeJS.ErrnoException).code}`,
        inputBytes: 0,
        outputBytes: 0,
      };
    }
    const outcome = anonymizeInstance(input, {
      plan: this.plan,
      uids: this.uids,
      allocate: (size) => this.outputBuffer.take(size),
    });
    if (outcome.status === "failed") {
      return {
        index,
        source,
        status: "failed",
        code: outcome.code,
        reason: outcome.reason,
        inputBytes: input.length,
        outputBytes: 0,
      };
    }
    const output = writeExclusive(this.outDir, outcome.sopInstanceUID, outcome.output);
    return {
      index,
      source,
      status: "anonymized",
      sopInstanceUID: outcome.sopInstanceUID,
      output,
      changes: this.withChanges ? outcome.changes : undefined,
      changeCount: outcome.changes.length,
      inputBytes: input.length,
      outputBytes: outcome.output.length,
      timings: outcome.timings,
    };
  }
}

function readInto(file: string, target: ReusableBuffer): Buffer {
  const fd = fs.openSync(file, "r");
  try {
    const size = fs.fstatSync(fd).size;
    const buf = target.take(size);
    let offset = 0;
    while (offset < size) {
      const n = fs.readSync(fd, buf, offset, size - offset, offset);
      if (n === 0) break;
      offset += n;
    }
    return buf.subarray(0, offset);
  } finally {
    fs.closeSync(fd);
  }
}

/**
 * Writes `<uid>.dcm`, or `<uid>_2.dcm`... when an earlier input of the run had the same SOP Instance
 * UID and different content: nothing is overwritten, so every input stays accounted for, and a re-run
 * into the same directory finds its own files. Exclusive create is atomic across worker threads.
 */
function writeExclusive(dir: string, uid: string, data: Buffer): string {
  for (let n = 1; ; n++) {
    const file = path.join(dir, n === 1 ? `${uid}.dcm` : `${uid}_${n}.dcm`);
    try {
      fs.writeFileSync(file, data, { flag: "wx" });
      return file;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
      if (fs.statSync(file).size === data.length && fs.readFileSync(file).equals(data)) return file; // a re-run
    }
  }
}
