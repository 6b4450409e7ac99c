/**
 * The verifier and the identifier model (src/engine/identifiers.ts): a real leak (a name, an ID, a
 * date kept in text) is refused; the coincidences real files are full of are not leaks; an
 * identifying value copied into a kept attribute outside Table E.1-1 is cleaned, not the instance
 * dropped.
 */
import { describe, expect, it } from "vitest";
import type { DataElement } from "../../../src/dicom/element.js";
import { readPart10 } from "../../../src/dicom/part10.js";
import { asciiValue, encodeValue } from "../../../src/dicom/values.js";
import type { AnonymizedInstance } from "../../../src/engine/anonymize.js";
import { isIdentifying } from "../../../src/engine/identifiers.js";
import { verifyOutput } from "../../../src/engine/verify.js";
import { VerificationError } from "../../../src/errors.js";
import { instance, leaf, seq } from "../../helpers/build.js";
import { anonymize, anonymized, plan, REGISTRY } from "../../helpers/engine.js";

const value = (out: readonly DataElement[], tag: number) => asciiValue(out.find((e) => e.tag === tag)?.value);
const outOf = (o: AnonymizedInstance) => readPart10(o.output).dataset;

describe("the verifier refuses a real leak", () => {
  // The output below was not produced by the engine: it is what a broken engine would emit, a kept
  // description still holding an original value. The verifier reads the bytes and must refuse it.
  const cases: Array<[string, number, string, string]> = [
    ["a name", 0x00100010, "PN", "Smithers^Waylon"],
    ["a name part", 0x00100010, "PN", "Waylon"],
    ["an ID", 0x00100020, "LO", "MRN0042731"],
    ["a date", 0x00100030, "DA", "19610823"],
  ];
  it.each(cases)("%s kept in a description", (_name, tag, vr, planted) => {
    const original = vr === "PN" ? "Smithers^Waylon" : planted;
    const output = instance([leaf(0x00081030, "LO", `Follow-up ${planted} chest`)], undefined, "2.25.1");
    expect(() =>
      verifyOutput({
        output,
        plan: plan("hipaa"),
        originals: [{ tag, vr, value: encodeValue(original, vr) }],
        generatedPaths: new Set(),
      }),
    ).toThrow(VerificationError);
  });

  it("a kept UI that still holds a remapped UID cannot be cleaned, so the instance is refused", () => {
    const outcome = anonymize(
      instance([
        leaf(0x0020000d, "UI", "1.2.3.4.9042"),
        seq(0x00283010, [leaf(0x0008001a, "UI", "1.2.3.4.9042")]),
      ]),
      "hipaa",
    );
    expect(outcome.status).toBe("failed");
    if (outcome.status === "failed") expect(outcome.reason).toMatch(/\(0020,000D\).*00283010\[0\]\.0008001A/);
  });
});

describe("coincidences are not leaks (issue 10, item 1)", () => {
  for (const profile of ["basic", "hipaa"] as const) {
    describe(profile, () => {
      it("a Siemens sequence name in a removed private element and in Sequence Name", () => {
        const out = outOf(
          anonymized(
            instance([
              leaf(0x00180024, "SH", "*epfid2d1_64"),
              leaf(0x00210010, "LO", "SIEMENS MR SDI 02"),
              leaf(0x00211177, "LO", "*epfid2d1_64"),
            ]),
            profile,
          ),
        );
        expect(value(out, 0x00180024)).toBe("*epfid2d1_64");
        expect(out.some((e) => e.tag === 0x00211177)).toBe(false);
      });

      it("a Series Description inside the Protocol Name; a Study Description equal to a removed PPS Description", () => {
        const outcome = anonymized(
          instance([
            leaf(0x0008103e, "LO", "T2W_TSE"),
            leaf(0x00181030, "LO", "T2W_TSE SENSE"),
            leaf(0x00081030, "LO", "MRI KNEE LEFT"),
            leaf(0x00400254, "LO", "MRI KNEE LEFT"),
          ]),
          profile,
        );
        if (profile === "hipaa") {
          // Clean Descriptors keeps them: descriptions are not identifiers of the instance.
          const out = outOf(outcome);
          expect(value(out, 0x00181030)).toBe("T2W_TSE SENSE");
          expect(value(out, 0x00081030)).toBe("MRI KNEE LEFT");
        }
      });

      it("Patient Name KNEE equal to Body Part Examined", () => {
        const out = outOf(
          anonymized(
            instance([
              leaf(0x00100010, "PN", "KNEE"),
              leaf(0x00180015, "CS", "KNEE"),
              leaf(0x00081030, "LO", "KNEE"),
            ]),
            profile,
          ),
        );
        expect(value(out, 0x00180015)).toBe("KNEE");
      });

      it("Patient ID 123456 equal to a Series Number; an ID equal to a code value", () => {
        const out = outOf(
          anonymized(
            instance([
              leaf(0x00100020, "LO", "123456"),
              leaf(0x00200011, "IS", "123456"),
              leaf(0x00080050, "SH", "CT12345"),
              seq(0x00081032, [
                leaf(0x00080100, "SH", "CT12345"),
                leaf(0x00080102, "SH", "L"),
                leaf(0x00080104, "LO", "CT CHEST"),
              ]),
            ]),
            profile,
          ),
        );
        expect(value(out, 0x00200011)).toBe("123456");
        expect(value(out.find((e) => e.tag === 0x00081032)!.items![0]!.elements, 0x00080100)).toBe("CT12345");
      });

      it("Performing Physician n.a. equal to Manufacturer n.a.; Content Creator's Name equal to the vendor", () => {
        const out = outOf(
          anonymized(
            instance([
              leaf(0x00080070, "LO", "https://github.com/QIICR/Slicer-SUVFactorCalculator"),
              leaf(0x00081050, "PN", "n.a."),
              leaf(0x00081090, "LO", "n.a."),
              leaf(0x00700084, "PN", "QIICR"),
            ]),
            profile,
          ),
        );
        expect(value(out, 0x00080070)).toBe("https://github.com/QIICR/Slicer-SUVFactorCalculator");
      });

      it("a Timezone Offset -0400 inside a code value T-04000", () => {
        anonymized(
          instance([
            leaf(0x00080201, "SH", "-0400"),
            seq(0x00082218, [
              leaf(0x00080100, "SH", "T-04000"),
              leaf(0x00080102, "SH", "SRT"),
              leaf(0x00080104, "LO", "Breast"),
            ]),
          ]),
          profile,
        );
      });

      it("a Detector ID inside Detector Description, a Station Name in Radiation Machine Name: cleaned, audited", () => {
        const outcome = anonymized(
          instance([
            leaf(0x00181000, "LO", "SN4471"),
            leaf(0x0018700a, "SH", "L03-02246"),
            leaf(0x00187006, "LT", "SN=L03-02246;REV=C"),
            leaf(0x00081010, "SH", "TrueBeam1309"),
            leaf(0x30020020, "SH", "TrueBeam1309"),
          ]),
          profile,
        );
        const out = outOf(outcome);
        expect(value(out, 0x00187006)).not.toContain("L03-02246");
        expect(value(out, 0x00187006)).toContain("REV=C");
        expect(value(out, 0x30020020)).not.toContain("TrueBeam1309");
        const audited = outcome.changes.filter((c) => c.reason?.startsWith("held an identifying value"));
        expect(audited.map((c) => c.tag).sort()).toEqual(["00187006", "30020020"]);
      });
    });
  }
});

describe("an element the dictionary does not know, and a PN no rule names (issue 9, item 2)", () => {
  for (const profile of ["basic", "hipaa"] as const) {
    it(`is removed under ${profile}, at any depth`, () => {
      const unknown = [
        leaf(0x00100018, "PN", "Smith^Johnathan"), // a one-bit flip of Patient Name (0010,0010)
        leaf(0x0040a999, "PN", "Smith^Johnathan"),
        leaf(0x00109999, "LO", "Johnathan Smith 4471"),
      ];
      const outcome = anonymized(instance([...unknown, seq(0x00283010, unknown)]), profile);
      const out = outOf(outcome);
      const tags = [0x00100018, 0x0040a999, 0x00109999];
      expect(out.filter((e) => tags.includes(e.tag))).toEqual([]);
      const inner = out.find((e) => e.tag === 0x00283010)!.items![0]!.elements;
      expect(inner.filter((e) => tags.includes(e.tag))).toEqual([]);
      expect(outcome.output.toString("latin1")).not.toContain("Smith");
    });
  }
});

describe("a private person name is not kept by a default", () => {
  it("a custom profile that keeps private elements still removes a private PN no rule names", () => {
    const keepsPrivate = REGISTRY.compileCustom({
      name: "keeps-private",
      description: "hipaa, private elements kept by default (unsafe)",
      version: "0",
      extends: "hipaa",
      defaults: { private: "keep" },
      rules: [],
    });
    const out = outOf(
      anonymized(
        instance([
          leaf(0x00290010, "LO", "ACME"),
          leaf(0x00291010, "PN", "Smith^Johnathan"),
          leaf(0x00291011, "LO", "kept"),
        ]),
        keepsPrivate,
      ),
    );
    expect(out.some((e) => e.tag === 0x00291010)).toBe(false);
    expect(value(out, 0x00291011)).toBe("kept");
  });
});

describe("the identifier model", () => {
  it("names, IDs, dates, addresses, device, institution and station identifiers, instance UIDs identify", () => {
    for (const [tag, vr] of [
      [0x00100010, "PN"],
      [0x00081070, "PN"],
      [0x00100020, "LO"],
      [0x00080050, "SH"],
      [0x00200010, "SH"],
      [0x00100030, "DA"],
      [0x00101040, "LO"],
      [0x00181000, "LO"],
      [0x0018700a, "SH"],
      [0x00080080, "LO"],
      [0x00081010, "SH"],
      [0x0020000d, "UI"],
      [0x00080018, "UI"],
    ] as const)
      expect(isIdentifying(tag, vr), tag.toString(16)).toBe(true);
  });

  it("descriptions, comments, protocol names, private elements and class UIDs might hold one, but are not needles", () => {
    for (const [tag, vr] of [
      [0x00081030, "LO"],
      [0x0008103e, "LO"],
      [0x00181030, "LO"],
      [0x00204000, "LT"],
      [0x00400254, "LO"],
      [0x00211177, "LO"],
      [0x00080016, "UI"],
      [0x00080201, "SH"], // Timezone Offset From UTC
      [0x00180015, "CS"],
    ] as const)
      expect(isIdentifying(tag, vr), tag.toString(16)).toBe(false);
  });
});
