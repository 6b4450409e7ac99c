/**
 * Clean Descriptors keeps clinical words in any language and script (issue 10, item 4); the audit
 * names every change: overwritten method attributes (item 5), a removed private block as one entry
 * (issue 9, item 12); identifying SR coded content is cleaned like SR text (item 6).
 */
import { describe, expect, it } from "vitest";
import type { DataElement } from "../../../src/dicom/element.js";
import { readPart10 } from "../../../src/dicom/part10.js";
import { asciiValue } from "../../../src/dicom/values.js";
import { instance, leaf, seq } from "../../helpers/build.js";
import { anonymized } from "../../helpers/engine.js";

const utf8 = (tag: number, vr: string, text: string) => leaf(tag, vr, text, "utf8");
const decoded = (out: readonly DataElement[], tag: number) =>
  Buffer.from(out.find((e) => e.tag === tag)?.value ?? new Uint8Array(0))
    .toString("utf8")
    .trim();

describe("Clean Descriptors keeps clinical words in any language (hipaa)", () => {
  const cases: Array<[string, string, string, DataElement[]]> = [
    [
      "French, with the same words in removed descriptions and the institution",
      "CT2 tête, face, sinus",
      "CT2 tête, face, sinus",
      [
        utf8(0x00321060, "LO", "CT2 tête, face, sinus"),
        utf8(0x00400254, "LO", "CT2 tête, face, sinus"),
        utf8(0x00080080, "LO", "Hôpital de la tête"),
        utf8(0x00100010, "PN", "DUPONT^JEAN"),
      ],
    ],
    [
      "French, with the patient's name and a date in it",
      "IRM genou DUPONT 2024-01-31",
      "IRM genou",
      [utf8(0x00100010, "PN", "DUPONT^JEAN")],
    ],
    ["German", "Kopf/Hals nativ Müller", "Kopf/Hals nativ", [utf8(0x00100010, "PN", "Müller^Hans")]],
    ["Russian", "МРТ головного мозга Иванов", "МРТ головного мозга", [utf8(0x00100010, "PN", "Иванов^Иван")]],
    ["Japanese", "胸部 単純CT 山田 太郎", "胸部 単純CT", [utf8(0x00100010, "PN", "山田^太郎")]],
    ["Greek", "Αξονική θώρακος", "Αξονική θώρακος", [utf8(0x00100020, "LO", "ID99812")]],
    ["Arabic", "تصوير مقطعي للصدر", "تصوير مقطعي للصدر", [utf8(0x00100020, "LO", "ID99812")]],
  ];
  it.each(cases)("%s", (_name, description, expected, others) => {
    const out = readPart10(
      anonymized(
        instance([leaf(0x00080005, "CS", "ISO_IR 192"), utf8(0x00081030, "LO", description), ...others]),
        "hipaa",
      ).output,
    ).dataset;
    expect(decoded(out, 0x00081030)).toBe(expected);
  });
});

describe("the audit names every change", () => {
  it("method attributes the input already carries are overwritten in the audit", () => {
    const outcome = anonymized(
      instance([
        leaf(0x00120062, "CS", "YES"),
        leaf(0x00120063, "LO", "Orthanc 1.12.1"),
        leaf(0x00280303, "CS", "UNMODIFIED"),
      ]),
      "basic",
    );
    const byTag = new Map(outcome.changes.map((c) => [c.tag, c]));
    expect(byTag.get("00120063")?.action).toBe("replace");
    expect(byTag.get("00120063")?.after).toMatch(/^dicomweb-anonymizer basic/);
    expect(byTag.get("00280303")?.action).toBe("replace"); // basic: REMOVED
    expect(byTag.has("00120062")).toBe(false); // the same bytes: nothing changed
  });

  it("a removed private block is one entry, with or without its creator", () => {
    const block = (group: number, byte: number) =>
      Array.from({ length: 200 }, (_, i) => leaf((group << 16) | (byte << 8) | i, "LO", `v${i}`));
    const outcome = anonymized(
      instance([
        leaf(0x00290010, "LO", "VENDOR A"),
        leaf(0x00290011, "LO", "VENDOR B"),
        ...block(0x0029, 0x10),
        ...block(0x0029, 0x11),
        ...block(0x0031, 0x10), // no creator reserved it
      ]),
      "hipaa",
    );
    const privateEntries = outcome.changes.filter((c) => /^00(29|31)/.test(c.tag));
    expect(privateEntries.map((c) => c.path)).toEqual(["00290010", "00290011", "00311000"]);
    expect(
      privateEntries.every((c) => c.action === "remove" && c.before === "<private block of 200 elements>"),
    ).toBe(true);
  });
});

describe("identifying SR coded content is cleaned like SR text", () => {
  const codeItem = (conceptMeaning: string, codeValue: string, codeMeaning: string) => [
    leaf(0x0040a040, "CS", "CODE"),
    seq(0x0040a043, [
      leaf(0x00080100, "SH", "121999"),
      leaf(0x00080102, "SH", "99LOCAL"),
      leaf(0x00080104, "LO", conceptMeaning),
    ]),
    seq(0x0040a168, [
      leaf(0x00080100, "SH", codeValue),
      leaf(0x00080102, "SH", "99LOCAL"),
      leaf(0x00080104, "LO", codeMeaning),
    ]),
  ];
  for (const profile of ["basic", "hipaa"] as const) {
    it(`the institution as a Code Meaning under ${profile}; a clinical code stays`, () => {
      const input = instance([
        leaf(0x00080080, "LO", "St Elsewhere Hospital"),
        seq(
          0x0040a730,
          codeItem("Hospital Name", "STELSW", "St Elsewhere Hospital"),
          codeItem("Finding Site", "T-28000", "Lung"),
        ),
      ]);
      const outcome = anonymized(input, profile);
      expect(outcome.output.toString("latin1")).not.toContain("Elsewhere");
      expect(outcome.output.toString("latin1")).not.toContain("STELSW");
      const content = readPart10(outcome.output).dataset.find((e) => e.tag === 0x0040a730)!.items!;
      const concept = (i: number) =>
        content[i]!.elements.find((e) => e.tag === 0x0040a168)!.items![0]!.elements;
      expect(asciiValue(concept(1).find((e) => e.tag === 0x00080104)?.value)).toBe("Lung");
    });
  }
});
