import { readPart10 } from "../../src/dicom/part10.js";
import { corpusFile } from "./corpus.js";

/** A real corpus file with a Device Serial Number and an Institution Address, its age made 093Y. */
export function seedStoryInstance(): Buffer {
  const input = Buffer.from(corpusFile("mr-siemens-csa-explicit-le.dcm"));
  const age = readPart10(input).dataset.find((e) => e.tag === 0x00101010)!.value!;
  Buffer.from("093Y").copy(input, age.byteOffset - input.byteOffset);
  return input;
}

/**
 * A three-instance, two-series study made from the seed instance by changing the last digit of its
 * SOP Instance UID (and, for the third, of its Series Instance UID): same lengths, real data.
 */
export function seedStudy(): Buffer[] {
  return [0, 1, 2].map((i) => {
    const input = seedStoryInstance();
    const { dataset } = readPart10(input);
    const patchLastDigit = (tag: number, digit: number) => {
      const value = dataset.find((e) => e.tag === tag)!.value!;
      let end = value.length;
      while (end > 0 && (value[end - 1] === 0 || value[end - 1] === 0x20)) end--;
      input[value.byteOffset - input.byteOffset + end - 1] = 0x30 + digit;
    };
    patchLastDigit(0x00080018, i + 1);
    if (i === 2) patchLastDigit(0x0020000e, 9);
    return input;
  });
}
