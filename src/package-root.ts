/** The package root (where package.json, profiles/ and openapi.yaml are), from src/ or dist/src/. */
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

let root: string | undefined;

export function packageRoot(): string {
  if (root) return root;
  let dir = path.dirname(fileURLToPath(import.meta.url));
  while (!fs.existsSync(path.join(dir, "package.json"))) {
    const parent = path.dirname(dir);
    if (parent === dir) throw new Error("package root not found");
    dir = parent;
  }
  root = dir;
  return dir;
}

/**
 * The compiled file of a worker thread, `file` beside the module at `moduleUrl` (its import.meta.url).
 * Worker threads run compiled JavaScript: under a TypeScript runner (the tests import src/*.ts) the
 * file is taken from dist/, which `npm test` builds first.
 */
export function workerFile(moduleUrl: string, file: string): string {
  const here = path.dirname(fileURLToPath(moduleUrl));
  if (!fileURLToPath(moduleUrl).endsWith(".ts")) return path.join(here, file);
  const built = path.join(packageRoot(), "dist", path.relative(packageRoot(), here), file);
  if (!fs.existsSync(built)) throw new Error(`${built} is missing: run "npm run build" first`);
  return built;
}
