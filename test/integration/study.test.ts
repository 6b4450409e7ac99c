/**
 * A generated three-instance study with cross-references (written by dcmjs, an independent writer):
 * after de-identification every reference still resolves, to the new UIDs, and the same input twice
 * (or sent in pieces) gives the same UIDs.
 */
import { describe, expect, it } from "vitest";
import { UidMapper } from "../../src/engine/uid-map.js";
import { naturalize, pn, readWithDcmjs, writeWithDcmjs, type RawDict } from "../helpers/dicom.js";
import { anonymized, SECRET } from "../helpers/engine.js";

const CT = "1.2.840.10008.5.1.4.1.1.2";
const STUDY = "1.2.826.0.1.3680043.2.1125.1.100";
const SERIES = "1.2.826.0.1.3680043.2.1125.1.200";
const FOR = "1.2.826.0.1.3680043.2.1125.1.300";
const sop = (n: number) => `1.2.826.0.1.3680043.2.1125.1.40${n}`;

function ctInstance(n: number, references: number[]): Buffer {
  const dict: RawDict = {
    "00080016": { vr: "UI", Value: [CT] },
    "00080018": { vr: "UI", Value: [sop(n)] },
    "00080020": { vr: "DA", Value: ["20210704"] },
    "00080060": { vr: "CS", Value: ["CT"] },
    "00100010": pn("Lovelace^Ada"),
    "00100020": { vr: "LO", Value: ["MRN-0042"] },
    "00101010": { vr: "AS", Value: ["093Y"] },
    "0020000D": { vr: "UI", Value: [STUDY] },
    "0020000E": { vr: "UI", Value: [SERIES] },
    "00200052": { vr: "UI", Value: [FOR] },
    "00200013": { vr: "IS", Value: [n] },
    "00081140": {
      vr: "SQ",
      Value: references.map((r) => ({
        "00081150": { vr: "UI", Value: [CT] },
        "00081155": { vr: "UI", Value: [sop(r)] },
      })),
    },
    "00082112": {
      vr: "SQ",
      Value: [
        {
          "00081150": { vr: "UI", Value: [CT] },
          "00081155": { vr: "UI", Value: [sop(references[0] ?? n)] },
          "0040A170": {
            vr: "SQ",
            Value: [
              { "00080100": { vr: "SH", Value: ["121322"] }, "00080102": { vr: "SH", Value: ["DCM"] } },
            ],
          },
        },
      ],
    },
  };
  return writeWithDcmjs(dict, "1.2.840.10008.1.2.1");
}

describe("a study with cross-references", () => {
  const inputs = [ctInstance(1, [2, 3]), ctInstance(2, [1]), ctInstance(3, [1, 2])];

  it("keeps every reference consistent with the remapped UIDs", () => {
    const outs = inputs.map((i) => naturalize(readWithDcmjs(anonymized(i, "hipaa").output).dict));
    const newSops = outs.map((o) => o.SOPInstanceUID as string);
    expect(new Set(newSops).size).toBe(3);
    for (const o of outs) {
      expect(o.StudyInstanceUID).toBe(outs[0]!.StudyInstanceUID);
      expect(o.SeriesInstanceUID).toBe(outs[0]!.SeriesInstanceUID);
      expect(o.FrameOfReferenceUID).toBe(outs[0]!.FrameOfReferenceUID);
      expect(o.StudyInstanceUID).not.toBe(STUDY);
      expect(o.PatientAge).toBe("089Y");
      expect(o.StudyDate).toBe("20210101");
      for (const ref of [
        ...(o.ReferencedImageSequence as Array<Record<string, string>>),
        ...(o.SourceImageSequence as Array<Record<string, string>>),
      ]) {
        expect(newSops).toContain(ref.ReferencedSOPInstanceUID);
        expect(ref.ReferencedSOPClassUID).toBe(CT); // a class UID is never remapped
      }
    }
    // Instance 1 references 2 and 3: the mapping is the same one the referenced instances got.
    const refsOf1 = (outs[0]!.ReferencedImageSequence as Array<Record<string, string>>).map(
      (r) => r.ReferencedSOPInstanceUID,
    );
    expect(refsOf1).toEqual([newSops[1], newSops[2]]);
  });

  it("gives the same UIDs when the study is sent again, in pieces, by another engine with the same secret", () => {
    const first = inputs.map((i) => anonymized(i, "hipaa").sopInstanceUID);
    const again = [inputs[2]!, inputs[0]!].map(
      (i) => anonymized(i, "hipaa", new UidMapper(Buffer.from(SECRET))).sopInstanceUID,
    );
    expect(again).toEqual([first[2], first[0]]);
    const otherSecret = anonymized(
      inputs[0]!,
      "hipaa",
      new UidMapper(Buffer.from("another secret")),
    ).sopInstanceUID;
    expect(otherSecret).not.toBe(first[0]);
  });
});
