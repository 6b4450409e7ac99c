/** Builds small datasets with our writer for unit tests (values given as text per VR). */
import type { DataElement, Item } from "../../src/dicom/element.js";
import { writePart10 } from "../../src/dicom/part10.js";
import { transferSyntaxOf } from "../../src/dicom/transfer-syntax.js";
import { encodeValue } from "../../src/dicom/values.js";

export const SC = "1.2.840.10008.5.1.4.1.1.7";

export function leaf(
  tag: number,
  vr: string,
  text: string,
  encoding: BufferEncoding = "latin1",
): DataElement {
  return { tag, vr, value: encodeValue(text, vr, encoding), undefinedLength: false };
}

export function seq(tag: number, ...items: DataElement[][]): DataElement {
  return {
    tag,
    vr: "SQ",
    items: items.map((elements): Item => ({ elements: sorted(elements), undefinedLength: false })),
    undefinedLength: true,
  };
}

function sorted(elements: DataElement[]): DataElement[] {
  return [...elements].sort((a, b) => a.tag - b.tag);
}

/** A minimal Secondary Capture instance with the given extra elements. */
export function instance(
  elements: DataElement[],
  transferSyntax = "1.2.840.10008.1.2.1",
  sop = "1.2.999.7",
): Buffer {
  const dataset = sorted([leaf(0x00080016, "UI", SC), leaf(0x00080018, "UI", sop), ...elements]);
  return writePart10({
    dataset,
    transferSyntax: transferSyntaxOf(transferSyntax)!,
    sopClassUid: SC,
    sopInstanceUid: sop,
  });
}
