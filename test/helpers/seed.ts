import { readPart10 } from "../../src/dicom/part10.js";
import { corpusFile } from "./corpus.js";

/** A real corpus file with a Device Serial Number and an Institution Address, its age made 093Y. */
export function seedStoryInstance(): Buffer {
  const input = Buffer.from(corpusFile("mr-siemens-csa-explicit-le.dcm"));
  const age = readPart10(input).dataset.find((e) => e.tag === 0x00101010)!.value!;
  Buffer.from("093Y").copy(input, age.byteOffset - input.byteOffset);
  return input;
}
