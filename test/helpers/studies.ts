/**
 * Many studies from one real corpus instance (the seed): each copy's Study, Series and SOP Instance
 * UIDs get new trailing digits of the same length, so every instance is distinct and still real data.
 */
import { readPart10 } from "../../src/dicom/part10.js";
import { seedStoryInstance } from "./seed.js";

function patchTail(input: Buffer, tag: number, digits: string): void {
  const { dataset } = readPart10(input);
  const value = dataset.find((e) => e.tag === tag)!.value!;
  let end = value.length;
  while (end > 0 && (value[end - 1] === 0 || value[end - 1] === 0x20)) end--;
  // Keep the UID valid: never a leading zero in the patched component (its tail is long enough).
  Buffer.from(digits, "latin1").copy(input, value.byteOffset - input.byteOffset + end - digits.length);
}

/**
 * `studies` studies of `series` series of `perSeries` instances; returns them with their UIDs.
 * Calls with different `set` numbers (0-9) give disjoint UIDs.
 */
export function makeStudies(
  studies: number,
  series: number,
  perSeries: number,
  set = 0,
): { instances: Buffer[]; studyUIDs: string[] } {
  const seed = seedStoryInstance();
  const instances: Buffer[] = [];
  const studyUIDs: string[] = [];
  let n = 0;
  for (let st = 0; st < studies; st++) {
    for (let se = 0; se < series; se++) {
      for (let i = 0; i < perSeries; i++) {
        const input = Buffer.from(seed);
        patchTail(input, 0x0020000d, `${set + 1}${String(st).padStart(3, "0")}`);
        patchTail(input, 0x0020000e, `${set + 1}${String(st * series + se).padStart(4, "0")}`);
        patchTail(input, 0x00080018, `${set + 1}${String(n++).padStart(5, "0")}`);
        instances.push(input);
      }
    }
    const { dataset } = readPart10(instances.at(-1)!);
    const uid = dataset.find((e) => e.tag === 0x0020000d)!.value!;
    studyUIDs.push(
      Buffer.from(uid)
        .toString("latin1")
        .replace(/[\0 ]+$/, ""),
    );
  }
  return { instances, studyUIDs };
}
