/**
 * The CLI's file and directory arguments as a sorted list of files (directories are walked
 * recursively), and the output directory.
 *
 * Symbolic links are followed: a link to a file is an input like any other (a dangling one becomes a
 * failure, "cannot read: ENOENT", so it is not lost silently), a link to a directory is walked unless
 * that directory was walked already (a loop, or a second way to it), which is listed as skipped. Files
 * whose names start with "." are not inputs (the CLI's own temporary outputs are named so).
 */
import fs from "node:fs";
import path from "node:path";

export interface Skipped {
  readonly source: string;
  readonly reason: string;
}

export interface Inputs {
  readonly files: string[];
  readonly skipped: Skipped[];
}

export function expandInputs(inputs: readonly string[]): Inputs {
  const files: string[] = [];
  const skipped: Skipped[] = [];
  // Real paths of the directories walked so far: a link back into one of them is a loop.
  const walked = new Set<string>();

  const walk = (dir: string, throughLink: boolean): void => {
    const real = fs.realpathSync(dir);
    if (walked.has(real)) {
      // Its files are inputs already, under another spelling.
      if (throughLink) skipped.push({ source: dir, reason: "a symbolic link to a directory already walked" });
      return;
    }
    walked.add(real);
    for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
      const full = path.join(dir, entry.name);
      if (entry.isDirectory()) walk(full, throughLink);
      else if (entry.name.startsWith(".")) continue;
      else if (entry.isFile()) files.push(full);
      else if (entry.isSymbolicLink()) {
        let target: fs.Stats | undefined;
        try {
          target = fs.statSync(full);
        } catch {
          files.push(full); // dangling: the job reports it as a failure to read
          continue;
        }
        if (target.isDirectory()) walk(full, true);
        else if (target.isFile()) files.push(full);
        else skipped.push({ source: full, reason: "not a regular file" });
      } else skipped.push({ source: full, reason: "not a regular file" });
    }
  };

  for (const input of inputs) {
    if (fs.statSync(input).isDirectory()) walk(input, false);
    else files.push(input);
  }
  return { files: [...new Set(files)].sort(), skipped };
}

/**
 * Creates the output directory and its missing parents one level at a time. (fs.mkdirSync with
 * `recursive` loops forever on some paths, e.g. under /proc, where a parent exists but a child can
 * never be created.) Throws an error naming the directory and the system's code.
 */
export function makeOutputDir(dir: string): string {
  const target = path.resolve(dir);
  const missing: string[] = [];
  for (let p = target; ; p = path.dirname(p)) {
    let stat: fs.Stats | undefined;
    try {
      stat = fs.statSync(p);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "ENOENT") throw outDirError(dir, error);
    }
    if (stat) {
      if (!stat.isDirectory()) throw new Error(`--out ${dir}: ${p} is not a directory`);
      break;
    }
    missing.push(p);
    if (path.dirname(p) === p) break;
  }
  for (const p of missing.reverse()) {
    try {
      fs.mkdirSync(p);
    } catch (error) {
      // Another process may have made it meanwhile; anything else stops the run.
      if ((error as NodeJS.ErrnoException).code !== "EEXIST" || !fs.statSync(p).isDirectory())
        throw outDirError(dir, error);
    }
  }
  return target;
}

function outDirError(dir: string, error: unknown): Error {
  return new Error(
    `--out ${dir}: cannot create the output directory (${(error as NodeJS.ErrnoException).code ?? "error"})`,
  );
}
