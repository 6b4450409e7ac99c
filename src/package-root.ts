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
