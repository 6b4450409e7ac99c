/** application/zip: audit.json plus one <new SOP Instance UID>.dcm per instance (yazl, stored, not deflated). */
import type { Readable } from "node:stream";
import yazl from "yazl";

/** Zip dates cannot go before 1980; a fixed time keeps the archive free of processing times. */
const FIXED_TIME = new Date("2000-01-01T00:00:00Z");

export function zipBody(files: ReadonlyArray<{ readonly name: string; readonly data: Buffer }>): Readable {
  const zip = new yazl.ZipFile();
  // DICOM pixel data is usually compressed already; storing is faster and keeps memory flat.
  for (const f of files) zip.addBuffer(f.data, f.name, { compress: false, mtime: FIXED_TIME });
  zip.end();
  return zip.outputStream as Readable;
}
