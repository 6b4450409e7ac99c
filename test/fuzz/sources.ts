/** The files the fuzz test mutates, read in place from the shared corpus. */
import fs from "node:fs";
import path from "node:path";
import { CORPUS, CORPUS_DIR } from "../helpers/corpus.js";
import { prng, sourceOf, type Source } from "./mutate.js";

export const REALWORLD_DIR = path.resolve(CORPUS_DIR, "../realworld");

/** Every public file but the few multi-megabyte ones (pixel data is not what breaks, and copying it
 * per case is), and a selection of 24 small real-world files that depends on the seed. */
export function loadSources(seed: number): Source[] {
  const pub = CORPUS.filter((c) => fs.statSync(c.path).size <= 600 * 1024).map((c) =>
    sourceOf(`public/${c.file}`, fs.readFileSync(c.path)),
  );
  const rows = fs.readFileSync(path.join(REALWORLD_DIR, "manifest.tsv"), "utf8").trim().split("\n").slice(1);
  const small = rows
    .map((r) => r.split("\t")[0]!)
    .filter(
      (f) =>
        fs.existsSync(path.join(REALWORLD_DIR, f)) &&
        fs.statSync(path.join(REALWORLD_DIR, f)).size <= 300 * 1024,
    )
    .sort();
  const rng = prng(seed ^ 0x5eed);
  const picked: string[] = [];
  while (picked.length < 24 && small.length > 0)
    picked.push(...small.splice(Math.floor(rng() * small.length), 1));
  const real = picked
    .sort()
    .map((f) => sourceOf(`realworld/${f}`, fs.readFileSync(path.join(REALWORLD_DIR, f))));
  return [...pub, ...real];
}
