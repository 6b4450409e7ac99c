/** One file through the engine, as the CLI does it: read, anonymize, write `<new SOP Instance UID>.dcm`. */
import fs from "node:fs";
import path from "node:path";
import { threadId } from "node:worker_threads";
import { isValidUid } from "../dicom/uid.js";
import { anonymizeInstanceChunks, type PhaseTimings } from "../engine/anonymize.js";
import type { AuditEntry } from "../engine/apply.js";
import type { Plan } from "../engine/plan.js";
import { UidMapper } from "../engine/uid-map.js";
import { runPixelStep, type PixelStepOutcome } from "../pixel/step.js";
import { localDetector, type TextDetector } from "../pixel/detector.js";
import { builtinProfileDir, ProfileRegistry } from "../profiles/registry.js";

export interface JobSettings {
  readonly profile: string;
  readonly profilesDir?: string;
  readonly secretHex: string;
  readonly outDir: string;
  /** Return every instance's changes (for --audit); otherwise only counts cross the thread boundary. */
  readonly withChanges: boolean;
  /** Detector pool threads when the profile runs the detector (0: each job thread detects itself). */
  readonly detectorThreads: number;
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
 * Runs files one at a time. The input lives in one reused buffer (fresh half-megabyte buffers per
 * file cost page faults on every file), and the output is written with writev straight from chunks
 * whose large values are views of that input: pixel data is read once and written once, never
 * copied, so a 1 GB instance needs about 1 GB.
 */
export class FileJob {
  private readonly uids: UidMapper;
  private readonly inputBuffer = new ReusableBuffer();
  private readonly outDir: string;

  constructor(
    private readonly plan: Plan,
    secret: Buffer,
    outDir: string,
    private readonly withChanges: boolean,
    /** Where the pixel step detects text: this thread, or the CLI's detector pool. */
    private readonly detector: TextDetector = localDetector,
  ) {
    this.uids = new UidMapper(secret);
    this.outDir = path.resolve(outDir);
  }

  /**
   * Never throws: whatever goes wrong with one file is that file's failure, and the batch goes on.
   * Synchronous (a plain result) when the profile has no pixel step: the header-only path is not
   * slowed by promises. With a pixel step, a promise: codecs load and the detector runs first
   * (src/pixel/step.ts), then the header pipeline swaps in the cleaned Pixel Data.
   */
  run(index: number, source: string): FileResult | Promise<FileResult> {
    if (this.plan.pixel) return this.runPixel(index, source);
    try {
      return this.runOne(index, source, undefined);
    } catch {
      return unexpected(index, source);
    }
  }

  private async runPixel(index: number, source: string): Promise<FileResult> {
    try {
      const input = this.read(index, source);
      if ("status" in input) return input;
      const pixel = await runPixelStep(input.buffer, this.plan, undefined, this.detector);
      return this.runOne(index, source, { input: input.buffer, pixel });
    } catch {
      return unexpected(index, source);
    }
  }

  private read(index: number, source: string): { buffer: Buffer } | FileResult {
    try {
      return { buffer: readInto(source, this.inputBuffer) };
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
  }

  private runOne(
    index: number,
    source: string,
    pre: { input: Buffer; pixel: PixelStepOutcome | undefined } | undefined,
  ): FileResult {
    let input: Buffer;
    if (pre) input = pre.input;
    else {
      const read = this.read(index, source);
      if ("status" in read) return read;
      input = read.buffer;
    }
    // Without an audit file the changes are only counted: no before/after text to build.
    const outcome = anonymizeInstanceChunks(input, {
      plan: this.plan,
      uids: this.uids,
      auditValues: this.withChanges,
      pixel: pre?.pixel,
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
    let output: string;
    try {
      output = writeExclusive(this.outDir, outcome.sopInstanceUID, outcome.chunks, outcome.outputBytes);
    } catch (error) {
      const reason =
        error instanceof OutputNameError
          ? error.message
          : `cannot write the output: ${(error as NodeJS.ErrnoException).code ?? "error"}`;
      return failure(index, source, "WRITE", reason, input.length);
    }
    return {
      index,
      source,
      status: "anonymized",
      sopInstanceUID: outcome.sopInstanceUID,
      output,
      changes: this.withChanges ? outcome.changes : undefined,
      changeCount: outcome.changes.length,
      inputBytes: input.length,
      outputBytes: outcome.outputBytes,
      timings: outcome.timings,
    };
  }
}

/** An error we did not foresee: its message is not known to be free of values. */
function unexpected(index: number, source: string): FileResult {
  return failure(index, source, "INTERNAL", "unexpected error while processing this file", 0);
}

function failure(
  index: number,
  source: string,
  code: string,
  reason: string,
  inputBytes: number,
): FileResult {
  return { index, source, status: "failed", code, reason, inputBytes, outputBytes: 0 };
}

class OutputNameError extends Error {}

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
 * into the same directory finds its own files.
 *
 * Names are built only from valid UIDs (PS3.5 9.1: digits and dots) and checked to stay in `dir`.
 * The bytes go to a hidden temporary file first, which is linked to its name only once complete
 * (link fails if the name exists: exclusive across worker threads), so a full disk or a crash never
 * leaves a truncated `<uid>.dcm` that looks like an output; the temporary file is removed on failure.
 */
function writeExclusive(dir: string, uid: string, chunks: readonly Buffer[], size: number): string {
  if (!isValidUid(uid))
    throw new OutputNameError(
      "the SOP Instance UID (0008,0018) is not a valid UID: no file name is built from it",
    );
  const temp = path.join(dir, `.${uid}.${process.pid}-${threadId}.partial`);
  const fd = fs.openSync(temp, "w", 0o644);
  try {
    try {
      writeAll(fd, chunks);
    } finally {
      fs.closeSync(fd);
    }
    for (let n = 1; ; n++) {
      const name = n === 1 ? `${uid}.dcm` : `${uid}_${n}.dcm`;
      const file = path.resolve(dir, name);
      if (path.dirname(file) !== dir)
        throw new OutputNameError("the output name leaves the output directory");
      try {
        linkOrRename(temp, file);
        return file;
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
        if (sameContent(file, chunks, size)) return file; // a re-run
      }
    }
  } finally {
    try {
      fs.unlinkSync(temp);
    } catch {
      // already renamed to its name (file systems without hard links)
    }
  }
}

/** Gives the complete temporary file its name, failing with EEXIST when the name is taken. */
function linkOrRename(temp: string, file: string): void {
  try {
    fs.linkSync(temp, file);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    // File systems without hard links: rename, after an existence check (not atomic across threads).
    if (code !== "EPERM" && code !== "ENOTSUP" && code !== "EOPNOTSUPP") throw error;
    if (fs.existsSync(file)) throw Object.assign(new Error("exists"), { code: "EEXIST" });
    fs.renameSync(temp, file);
  }
}

/** writev until every byte is out (a single call may write less). */
function writeAll(fd: number, chunks: readonly Buffer[]): void {
  let pending = chunks.filter((c) => c.length > 0);
  while (pending.length > 0) {
    let written = fs.writevSync(fd, pending.slice(0, 1024));
    const rest: Buffer[] = [];
    for (const c of pending) {
      if (written >= c.length) written -= c.length;
      else {
        rest.push(c.subarray(written));
        written = 0;
      }
    }
    pending = rest;
  }
}

function sameContent(file: string, chunks: readonly Buffer[], size: number): boolean {
  if (fs.statSync(file).size !== size) return false;
  const existing = fs.readFileSync(file);
  let offset = 0;
  for (const c of chunks) {
    if (!existing.subarray(offset, offset + c.length).equals(c)) return false;
    offset += c.length;
  }
  return true;
}
