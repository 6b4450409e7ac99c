/** Expands the CLI's file and directory arguments into a sorted list of files (recursively). */
import fs from "node:fs";
import path from "node:path";

export function expandInputs(inputs: readonly string[]): string[] {
  const out: string[] = [];
  for (const input of inputs) {
    const stat = fs.statSync(input);
    if (stat.isDirectory()) {
      for (const entry of fs.readdirSync(input, { recursive: true, withFileTypes: true })) {
        if (entry.isFile() && !entry.name.startsWith(".")) out.push(path.join(entry.parentPath, entry.name));
      }
    } else {
      out.push(input);
    }
  }
  return [...new Set(out)].sort();
}
