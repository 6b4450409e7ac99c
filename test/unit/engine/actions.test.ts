/** Each action, at top level, inside a sequence and two sequences deep (a grid of action x context). */
import { describe, expect, it } from "vitest";
import type { DataElement } from "../../../src/dicom/element.js";
import { readPart10 } from "../../../src/dicom/part10.js";
import { asciiValue } from "../../../src/dicom/values.js";
import { UidMapper } from "../../../src/engine/uid-map.js";
import type { ProfileRule } from "../../../src/profiles/types.js";
import { instance, leaf, seq } from "../../helpers/build.js";
import { anonymize, anonymized, REGISTRY, SECRET } from "../../helpers/engine.js";

const OUTER = 0x00283010; // VOI LUT Sequence: unlisted, kept
const INNER = 0x00400260; // Performed Protocol Code Sequence: unlisted, kept

function profileWith(rules: ProfileRule[], extra: Record<string, unknown> = {}) {
  return REGISTRY.compileCustom({
    name: "t",
    description: "test",
    version: "0",
    defaults: { private: "remove", unlisted: "keep" },
    rules,
    ...extra,
  });
}

/** Runs one element through a profile in three places and returns the three resulting elements. */
function inThreePlaces(element: DataElement, rules: ProfileRule[], extraElements: DataElement[] = []) {
  const input = instance([element, ...extraElements, seq(OUTER, [element, seq(INNER, [element])])]);
  const out = readPart10(anonymized(input, profileWith(rules)).output).dataset;
  const outer = out.find((e) => e.tag === OUTER)!.items![0]!.elements;
  const inner = outer.find((e) => e.tag === INNER)!.items![0]!.elements;
  return [out, outer, inner].map((elements) => elements.find((e) => e.tag === element.tag));
}

const text = (e: DataElement | undefined) => (e ? asciiValue(e.value) : undefined);

describe("actions, in every context", () => {
  const cases: Array<[string, DataElement, ProfileRule, (e: DataElement | undefined) => void]> = [
    [
      "keep",
      leaf(0x00081030, "LO", "CHEST"),
      { tag: "(0008,1030)", action: "keep" },
      (e) => expect(text(e)).toBe("CHEST"),
    ],
    [
      "remove",
      leaf(0x00081030, "LO", "CHEST"),
      { tag: "(0008,1030)", action: "remove" },
      (e) => expect(e).toBeUndefined(),
    ],
    [
      "empty",
      leaf(0x00100010, "PN", "DOE^JOHN"),
      { tag: "(0010,0010)", action: "empty" },
      (e) => expect(e?.value?.length).toBe(0),
    ],
    [
      "dummy PN",
      leaf(0x00100010, "PN", "DOE^JOHN"),
      { tag: "(0010,0010)", action: "dummy" },
      (e) => expect(text(e)).toBe("ANON"),
    ],
    [
      "dummy DA",
      leaf(0x00080020, "DA", "20200315"),
      { tag: "(0008,0020)", action: "dummy" },
      (e) => expect(text(e)).toBe("19000101"),
    ],
    [
      "dummy IS",
      leaf(0x00181242, "IS", "12"),
      { tag: "(0018,1242)", action: "dummy" },
      (e) => expect(text(e)).toBe("0"),
    ],
    [
      "replace",
      leaf(0x00100020, "LO", "MRN12345"),
      { tag: "(0010,0020)", action: "replace", value: "SUBJ-01" },
      (e) => expect(text(e)).toBe("SUBJ-01"),
    ],
    [
      "yearOnly DA",
      leaf(0x00080020, "DA", "20200315"),
      { tag: "(0008,0020)", action: "yearOnly" },
      (e) => expect(text(e)).toBe("20200101"),
    ],
    [
      "yearOnly DT",
      leaf(0x0008002a, "DT", "20200315101530.123"),
      { tag: "(0008,002A)", action: "yearOnly" },
      (e) => expect(text(e)).toBe("20200101"),
    ],
    [
      "zeroTime TM",
      leaf(0x00080030, "TM", "101530.5"),
      { tag: "(0008,0030)", action: "zeroTime" },
      (e) => expect(text(e)).toBe("000000"),
    ],
    [
      "capAge 095Y",
      leaf(0x00101010, "AS", "095Y"),
      { tag: "(0010,1010)", action: "capAge", maxYears: 89 },
      (e) => expect(text(e)).toBe("089Y"),
    ],
    [
      "capAge 090Y",
      leaf(0x00101010, "AS", "090Y"),
      { tag: "(0010,1010)", action: "capAge" },
      (e) => expect(text(e)).toBe("089Y"),
    ],
    [
      "capAge 089Y",
      leaf(0x00101010, "AS", "089Y"),
      { tag: "(0010,1010)", action: "capAge" },
      (e) => expect(text(e)).toBe("089Y"),
    ],
    [
      "capAge 045Y",
      leaf(0x00101010, "AS", "045Y"),
      { tag: "(0010,1010)", action: "capAge" },
      (e) => expect(text(e)).toBe("045Y"),
    ],
    [
      "capAge 999M",
      leaf(0x00101010, "AS", "999M"),
      { tag: "(0010,1010)", action: "capAge" },
      (e) => expect(text(e)).toBe("999M"),
    ],
    [
      "capAge 120W",
      leaf(0x00101010, "AS", "120W"),
      { tag: "(0010,1010)", action: "capAge" },
      (e) => expect(text(e)).toBe("120W"),
    ],
    [
      "capAge unreadable",
      // Within AS's repertoire and length (a value that breaks its VR is removed by the reader).
      leaf(0x00101010, "AS", "Y9"),
      { tag: "(0010,1010)", action: "capAge" },
      (e) => expect(e?.value?.length).toBe(0),
    ],
    [
      "remapUid",
      leaf(0x0020000d, "UI", "1.2.3.4"),
      { tag: "(0020,000D)", action: "remapUid" },
      (e) => expect(text(e)).toBe(new UidMapper(SECRET).remap("1.2.3.4")),
    ],
    [
      "remapUid standard",
      leaf(0x0020000d, "UI", "1.2.840.10008.5.1.4.1.1.2"),
      { tag: "(0020,000D)", action: "remapUid" },
      (e) => expect(text(e)).toBe("1.2.840.10008.5.1.4.1.1.2"),
    ],
    [
      "pseudonym",
      leaf(0x00100020, "LO", "MRN12345"),
      { tag: "(0010,0020)", action: "pseudonym", prefix: "P-" },
      (e) => expect(text(e)).toMatch(/^P-[0-9A-F]{12}$/),
    ],
    [
      "pseudonym empty",
      leaf(0x00100020, "LO", ""),
      { tag: "(0010,0020)", action: "pseudonym", fallback: "NONE" },
      (e) => expect(text(e)).toBe("NONE"),
    ],
    [
      "cleanText",
      leaf(0x00081030, "LO", "CT HEAD 2020-03-15 call 555-123-4567"),
      { tag: "(0008,1030)", action: "cleanText" },
      (e) => expect(text(e)).toBe("CT HEAD call"),
    ],
  ];

  it.each(cases)("%s", (_name, element, rule, check) => {
    const found = inThreePlaces(element, [rule]);
    expect(found).toHaveLength(3);
    for (const e of found) check(e);
  });

  it("shiftDate moves every date of a patient back by the same number of days", () => {
    const patient = leaf(0x00100020, "LO", "MRN-1");
    const study = leaf(0x00080020, "DA", "20200315");
    const series = leaf(0x00080021, "DA", "20200316");
    const p = profileWith([
      { tag: "(0008,0020)", action: "shiftDate" },
      { tag: "(0008,0021)", action: "shiftDate" },
    ]);
    const out = readPart10(anonymized(instance([patient, study, series]), p).output).dataset;
    const [a, b] = [0x00080020, 0x00080021].map((t) => asciiValue(out.find((e) => e.tag === t)?.value));
    const days = (d: string) =>
      Date.UTC(Number(d.slice(0, 4)), Number(d.slice(4, 6)) - 1, Number(d.slice(6, 8))) / 86_400_000;
    expect(days(b!) - days(a!)).toBe(1); // intervals survive
    expect(a).not.toBe("20200315");
    const again = readPart10(
      anonymized(instance([patient, leaf(0x00080020, "DA", "20200315")]), p).output,
    ).dataset;
    expect(asciiValue(again.find((e) => e.tag === 0x00080020)?.value)).toBe(a); // stable per patient
  });

  it("cleanText removes the instance's own identifying values from free text", () => {
    const name = leaf(0x00100010, "PN", "Smithers^Waylon");
    const id = leaf(0x00100020, "LO", "ABC987");
    const desc = leaf(0x00081030, "LO", "Follow-up for Waylon Smithers ABC987 chest");
    const p = profileWith([
      { tag: "(0010,0010)", action: "remove" },
      { tag: "(0010,0020)", action: "remove" },
      { tag: "(0008,1030)", action: "cleanText" },
    ]);
    const out = readPart10(anonymized(instance([name, id, desc]), p).output).dataset;
    expect(asciiValue(out.find((e) => e.tag === 0x00081030)?.value)).toBe("Follow-up for chest");
  });

  it("a sequence: remove drops it, empty leaves no items, keep cleans the items", () => {
    const seqWithName = () =>
      seq(0x00081140, [leaf(0x00100010, "PN", "DOE^JOHN"), leaf(0x00081155, "UI", "1.2.3.9")]);
    const rules: ProfileRule[] = [
      { tag: "(0010,0010)", action: "remove" },
      { tag: "(0008,1155)", action: "remapUid" },
    ];
    for (const [action, check] of [
      ["remove", (e: DataElement | undefined) => expect(e).toBeUndefined()],
      ["empty", (e: DataElement | undefined) => expect(e?.items).toHaveLength(0)],
      [
        "keep",
        (e: DataElement | undefined) => {
          expect(e?.items?.[0]?.elements.map((x) => x.tag)).toEqual([0x00081155]);
          expect(asciiValue(e?.items?.[0]?.elements[0]?.value)).toMatch(/^2\.25\./);
        },
      ],
    ] as const) {
      const p = profileWith([...rules, { tag: "(0008,1140)", action }]);
      const out = readPart10(anonymized(instance([seqWithName()]), p).output).dataset;
      check(out.find((e) => e.tag === 0x00081140));
    }
  });

  it("an action that does not fit a value's VR empties it (audited) instead of guessing or refusing", () => {
    const p = profileWith([{ tag: "(0010,0010)", action: "yearOnly" }]);
    const outcome = anonymized(instance([leaf(0x00100010, "PN", "DOE^JOHN")]), p);
    const out = readPart10(outcome.output).dataset;
    expect(out.find((e) => e.tag === 0x00100010)?.value?.length).toBe(0);
    const entry = outcome.changes.find((c) => c.tag === "00100010");
    expect(entry?.action).toBe("empty");
    expect(entry?.reason).toMatch(/yearOnly does not fit VR PN/);
  });

  it("an empty value is kept whatever its VR: yearOnly on an empty DS (realworld suyashkumar testdata)", () => {
    // Date of Last Calibration encoded DS with no value: nothing to de-identify.
    const outcome = anonymized(instance([leaf(0x00181200, "DS", "")]), "hipaa");
    const out = readPart10(outcome.output).dataset;
    expect(out.find((e) => e.tag === 0x00181200)?.value?.length).toBe(0);
  });

  it("an action that cannot apply to a sequence still fails the instance", () => {
    const p = profileWith([{ tag: "(0008,1140)", action: "yearOnly" }]);
    const outcome = anonymize(instance([seq(0x00081140, [leaf(0x00081150, "UI", "1.2.3")])]), p);
    expect(outcome.status).toBe("failed");
    if (outcome.status === "failed") expect(outcome.reason).toMatch(/yearOnly cannot apply to the sequence/);
  });
});

describe("private elements", () => {
  const creator = leaf(0x00290010, "LO", "SIEMENS CSA HEADER");
  const other = leaf(0x00290011, "LO", "OTHER VENDOR");
  const data1 = leaf(0x00291008, "CS", "IMAGE NUM 4");
  const data2 = leaf(0x00291108, "LO", "SECRET");

  it("are removed with their creators by default, at any depth", () => {
    const input = instance([creator, other, data1, data2, seq(OUTER, [creator, data1])]);
    const out = readPart10(anonymized(input, profileWith([])).output).dataset;
    expect(out.some((e) => e.tag >>> 16 === 0x0029)).toBe(false);
    expect(out.find((e) => e.tag === OUTER)!.items![0]!.elements).toHaveLength(0);
  });

  it("a creator block rule keeps just that block and its creator, whatever block number it got", () => {
    const p = profileWith([
      { privateCreator: "SIEMENS CSA HEADER", group: "0029", element: "08", action: "keep" },
    ]);
    const input = instance([creator, other, data1, data2]);
    const out = readPart10(anonymized(input, p).output).dataset;
    expect(out.filter((e) => e.tag >>> 16 === 0x0029).map((e) => e.tag.toString(16))).toEqual([
      "290010",
      "291008",
    ]);
    // The same creator in block 0x11 instead of 0x10 is still found.
    const moved = instance([leaf(0x00290011, "LO", "SIEMENS CSA HEADER"), leaf(0x00291108, "CS", "X")]);
    const out2 = readPart10(anonymized(moved, p).output).dataset;
    expect(out2.filter((e) => e.tag >>> 16 === 0x0029).map((e) => e.tag.toString(16))).toEqual([
      "290011",
      "291108",
    ]);
  });

  it("basic with Retain Safe Private keeps exactly the Table E.3.10-1 entries", () => {
    const p = REGISTRY.compileCustom({
      name: "safe",
      description: "t",
      version: "0",
      extends: "basic",
      options: ["retainSafePrivate"],
      rules: [],
    });
    const philips = leaf(0x20010010, "LO", "Philips Imaging DD 001");
    const safe = leaf(0x2001100a, "IS", "7"); // Image Plane Number: in the safe list
    const unsafe = leaf(0x20011099, "LO", "not in the list");
    const out = readPart10(anonymized(instance([philips, safe, unsafe]), p).output).dataset;
    expect(out.filter((e) => e.tag >>> 16 === 0x2001).map((e) => e.tag.toString(16))).toEqual([
      "20010010",
      "2001100a",
    ]);
  });
});
