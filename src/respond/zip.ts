/** application/zip: audit.json plus one <new SOP Instance UID>.dcm per instance (yazl, stored, not deflated). */
import type { Readable } from "node:stream";
import yazl from "yazl";
import { isValidUid } from "../dicom/uid.js";

/** Zip dates cannot go before 1980; a fixed time keeps the archive free of processing times. */
const FIXED_TIME = new Date("2000-01-01T00:00:00Z");

export function zipBody(files: ReadonlyArray<{ readonly name: string; readonly data: Buffer }>): Readable {
  const zip = new yazl.ZipFile();
  // DICOM pixel data is usually compressed already; storing is faster and keeps memory flat.
  for (const f of files) zip.addBuffer(f.data, f.name, { compress: false, mtime: FIXED_TIME });
  zip.end();
  return zip.outputStream as Readable;
}

/**
 * The archive name of an instance: `<uid>.dcm`, or `<uid>_<n>.dcm` for the n-th instance with one
 * UID. Only a valid UID (PS3.5 9.1: digits and dots) names an entry; anything else (the engine
 * refuses such instances, so this is a second line) is `instance-<position>.dcm`.
 */
export function instanceEntryName(uid: string, n: number, position: number): string {
  if (!isValidUid(uid)) return `instance-${position + 1}.dcm`;
  return n === 1 ? `${uid}.dcm` : `${uid}_${n}.dcm`;
}
