/** The shared public corpus (../shared/corpus/public), read through its manifest. */
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
export const CORPUS_DIR = path.resolve(ROOT, "../shared/corpus/public");
export const REFERENCE_DIR = path.resolve(ROOT, "../shared/reference");

if (!fs.existsSync(path.join(CORPUS_DIR, "manifest.tsv"))) {
  // Loud on purpose: these tests are the point, and they need the shared corpus beside the checkout.
  throw new Error(`The public DICOM corpus is missing: expected ${CORPUS_DIR}/manifest.tsv`);
}

export interface CorpusEntry {
  readonly file: string;
  readonly path: string;
  readonly transferSyntax: string;
  readonly charset: string;
  readonly notes: string;
}

export const CORPUS: readonly CorpusEntry[] = fs
  .readFileSync(path.join(CORPUS_DIR, "manifest.tsv"), "utf8")
  .trim()
  .split("\n")
  .slice(1)
  .map((line) => {
    const cols = line.split("\t");
    return {
      file: cols[0]!,
      path: path.join(CORPUS_DIR, cols[0]!),
      transferSyntax: cols[6]!,
      charset: cols[9]!,
      notes: cols[10] ?? "",
    };
  });

export function corpusFile(name: string): Buffer {
  return fs.readFileSync(path.join(CORPUS_DIR, name));
}

/**
 * Inputs the engine must reject, each with the reason it gives. Everything else in the corpus must
 * be de-identified under both shipped profiles.
 */
export const EXPECTED_REJECTIONS: Record<string, RegExp> = {
  "charset-empty-implicit.dcm": /no SOP Class UID/,
  "charset-per-item-sq.dcm": /no SOP Class UID/,
  "malformed-meta-missing-tsyntax.dcm": /no Transfer Syntax UID/,
  "malformed-meta-no-group-length.dcm": /no SOP Class UID/,
  "malformed-mr-truncated-pixeldata.dcm": /\(7FE0,0010\).*longer/,
  "malformed-nested-private-sq-undefined.dcm": /no SOP Class UID/,
  "malformed-private-sq-undefined.dcm": /no SOP Class UID/,
  "malformed-un-private-sequence.dcm": /no SOP Class UID/,
  "us-burned-in-yes-philips-phi.dcm": /Burned In Annotation/,
};

/** The real-world corpus (../shared/corpus/realworld): 182 files from public repositories. */
export const REALWORLD_DIR = path.resolve(ROOT, "../shared/corpus/realworld");

export interface RealworldEntry {
  readonly file: string;
  readonly path: string;
  readonly sha256: string;
  /** What the manifest says dcmtk's dcmdump and pydicom do with the file. */
  readonly dcmdumpReadable: boolean;
  readonly pydicomReadable: boolean;
}

export const REALWORLD: readonly RealworldEntry[] = (() => {
  const lines = fs.readFileSync(path.join(REALWORLD_DIR, "manifest.tsv"), "utf8").trim().split("\n");
  const header = lines[0]!.split("\t");
  return lines.slice(1).map((line) => {
    const cols = Object.fromEntries(line.split("\t").map((v, i) => [header[i]!, v]));
    return {
      file: cols.file!,
      path: path.join(REALWORLD_DIR, cols.file!),
      sha256: cols.sha256!,
      dcmdumpReadable: cols.dcmdump_readable === "yes",
      pydicomReadable: cols.pydicom_readable === "yes",
    };
  });
})();

/**
 * Real-world files dcmtk reads that the engine still refuses, each with its reason. Files without
 * SOP Class / Instance UID (not instances) and those flagged Burned In Annotation YES are found by
 * dcmdump in the test itself, not listed here.
 */
export const EXPECTED_REALWORLD_REJECTIONS: Record<string, RegExp> = {};
