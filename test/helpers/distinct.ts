/** Distinct real instances: a corpus file with the last two digits of its SOP Instance UID replaced. */
import { readPart10 } from "../../src/dicom/part10.js";
import { corpusFile } from "./corpus.js";

export function distinctInstances(file: string, count: number): Buffer[] {
  return Array.from({ length: count }, (_, i) => {
    const input = Buffer.from(corpusFile(file));
    const value = readPart10(input).dataset.find((e) => e.tag === 0x00080018)!.value!;
    let end = value.length;
    while (end > 0 && (value[end - 1] === 0 || value[end - 1] === 0x20)) end--;
    const at = value.byteOffset - input.byteOffset + end - 2;
    input.write(String(i % 100).padStart(2, "0"), at, "latin1");
    return input;
  });
}

/** The SOP Instance UID of an instance (read with the service's reader). */
export function sopInstanceUIDOf(data: Buffer): string {
  const value = readPart10(data).dataset.find((e) => e.tag === 0x00080018)!.value!;
  return Buffer.from(value)
    .toString("latin1")
    .replace(/[\0 ]+$/, "");
}
