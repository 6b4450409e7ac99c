/** Test-side DICOM helpers built on dcmjs (an independent parser and writer, not ours). */
import dcmjs from "dcmjs";

const { DicomDict, DicomMessage, DicomMetaDictionary } = dcmjs.data;

export type RawDict = Record<string, { vr: string; Value?: unknown[] }>;

export const SC_CLASS = "1.2.840.10008.5.1.4.1.1.7";
export const EXPLICIT_LE = "1.2.840.10008.1.2.1";

/** Writes a Part 10 file with dcmjs from a tag-keyed dict (`{"00100010": {vr: "PN", Value: [...]}}`). */
export function writeWithDcmjs(dict: RawDict, transferSyntax = EXPLICIT_LE): Buffer {
  const sop = (dict["00080018"]?.Value?.[0] as string | undefined) ?? "1.2.3.4";
  const sopClass = (dict["00080016"]?.Value?.[0] as string | undefined) ?? SC_CLASS;
  const meta = {
    "00020001": { vr: "OB", Value: [new Uint8Array([0, 1]).buffer] },
    "00020002": { vr: "UI", Value: [sopClass] },
    "00020003": { vr: "UI", Value: [sop] },
    "00020010": { vr: "UI", Value: [transferSyntax] },
    "00020012": { vr: "UI", Value: ["1.2.3.999"] },
  };
  const d = new DicomDict(meta);
  d.dict = { "00080016": { vr: "UI", Value: [sopClass] }, "00080018": { vr: "UI", Value: [sop] }, ...dict };
  return Buffer.from(d.write() as ArrayBuffer);
}

/** Parses with dcmjs; returns the tag-keyed dict. Throws if dcmjs cannot read it. */
export function readWithDcmjs(buf: Buffer): { meta: RawDict; dict: RawDict } {
  const ab = buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.length);
  const msg = DicomMessage.readFile(ab, { untilTag: undefined, ignoreErrors: false });
  return { meta: msg.meta as RawDict, dict: msg.dict as RawDict };
}

export function naturalize(dict: RawDict): Record<string, unknown> {
  return DicomMetaDictionary.naturalizeDataset(dict) as Record<string, unknown>;
}

export function pn(name: string): { vr: string; Value: unknown[] } {
  return { vr: "PN", Value: [{ Alphabetic: name }] };
}
