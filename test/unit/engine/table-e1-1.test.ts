/**
 * Table-driven: every row of PS3.15 Table E.1-1 (2026d), with the attribute at top level and inside a
 * sequence, gets the action the basic profile resolves its code to.
 */
import fs from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import type { DataElement } from "../../../src/dicom/element.js";
import { readPart10, writePart10 } from "../../../src/dicom/part10.js";
import { parseTag, tagOf, type Tag } from "../../../src/dicom/tag.js";
import { transferSyntaxOf } from "../../../src/dicom/transfer-syntax.js";
import { encodeValue } from "../../../src/dicom/values.js";
import { basicActionFor } from "../../../scripts/generate-basic-profile.js";
import { REFERENCE_DIR } from "../../helpers/corpus.js";
import { anonymized } from "../../helpers/engine.js";

interface Row {
  tag: string;
  keyword: string | null;
  basic: string;
  pattern: boolean;
  vr: string | null;
}

const TABLE = JSON.parse(
  fs.readFileSync(path.join(REFERENCE_DIR, "ps3.15-table-e1-1.json"), "utf8"),
) as Row[];
/** VOI LUT Sequence is not in the table, so basic keeps it and cleans its items. */
const CONTAINER = tagOf(0x0028, 0x3010);
const EXPLICIT_LE = transferSyntaxOf("1.2.840.10008.1.2.1")!;

function vrOf(row: Row): string {
  if (row.vr) return row.vr.slice(0, 2);
  const k = row.keyword ?? "";
  if (k.endsWith("DateTime")) return "DT";
  if (k.endsWith("Sequence")) return "SQ";
  if (k.endsWith("UID")) return "UI";
  return "LO";
}

const SAMPLE: Record<string, string> = {
  AE: "MARKAE",
  AS: "045Y",
  CS: "MARKER",
  DA: "20200315",
  DS: "12.5",
  DT: "20200315101530",
  IS: "42",
  LO: "MARK1234",
  LT: "text MARK1234",
  PN: "Doe^Jane",
  SH: "MARK1234",
  ST: "text MARK1234",
  TM: "101530",
  UC: "MARK1234",
  UI: "1.2.3.4.5.6.7",
  UR: "http://example.org/MARK",
  UT: "text MARK1234",
};

function element(tag: Tag, vr: string): DataElement {
  if (vr === "SQ") {
    const code = {
      tag: tagOf(0x0008, 0x0100),
      vr: "SH",
      value: encodeValue("C1", "SH"),
      undefinedLength: false,
    };
    return { tag, vr, items: [{ elements: [code], undefinedLength: false }], undefinedLength: false };
  }
  const text = SAMPLE[vr];
  const value = text !== undefined ? encodeValue(text, vr) : Uint8Array.of(1, 2, 3, 4);
  return { tag, vr, value, undefinedLength: false };
}

function instance(tag: Tag, vr: string): Buffer {
  const sopClass = {
    tag: tagOf(0x0008, 0x0016),
    vr: "UI",
    value: encodeValue("1.2.840.10008.5.1.4.1.1.7", "UI"),
    undefinedLength: false,
  };
  const sop = {
    tag: tagOf(0x0008, 0x0018),
    vr: "UI",
    value: encodeValue("1.2.999.1", "UI"),
    undefinedLength: false,
  };
  const inner = element(tag, vr);
  const container: DataElement = {
    tag: CONTAINER,
    vr: "SQ",
    items: [{ elements: [inner], undefinedLength: false }],
    undefinedLength: false,
  };
  const dataset = [sopClass, sop, element(tag, vr), container].sort((a, b) => a.tag - b.tag);
  return writePart10({
    dataset,
    transferSyntax: EXPLICIT_LE,
    sopClassUid: "1.2.840.10008.5.1.4.1.1.7",
    sopInstanceUid: "1.2.999.1",
  });
}

// Group 0000 (command) and 0002 (File Meta) rows never occur in a dataset; the File Meta is rebuilt.
const rows = TABLE.filter(
  (r) => !r.pattern && !/^\(000[02],/.test(r.tag) && parseTag(r.tag) !== tagOf(0x0008, 0x0018),
);

describe("PS3.15 Table E.1-1 under the basic profile", () => {
  it("covers every row of the 2026d table", () => {
    expect(TABLE).toHaveLength(657);
    expect(rows.length).toBe(657 - 4 - 3 - 1);
  });

  it.each(rows.map((r) => [`${r.tag} ${r.keyword ?? ""} ${r.basic}`, r] as const))("%s", (_name, row) => {
    const tag = parseTag(row.tag)!;
    const vr = vrOf(row);
    const input = instance(tag, vr);
    const before = readPart10(input).dataset;
    const output = readPart10(anonymized(input, "basic").output).dataset;
    const action = basicActionFor(row)!.action;
    const originalValue = Buffer.from(before.find((e) => e.tag === tag)!.value ?? []);

    const containerOut = output.find((e) => e.tag === CONTAINER);
    expect(containerOut, "the unlisted container sequence is kept").toBeDefined();
    for (const [where, elements] of [
      ["top level", output],
      ["inside a sequence", containerOut!.items![0]!.elements],
    ] as const) {
      const found = elements.find((e) => e.tag === tag);
      const value = Buffer.from(found?.value ?? []);
      switch (action) {
        case "remove":
          expect(found, `${where}: removed`).toBeUndefined();
          break;
        case "empty":
          expect(found, `${where}: present`).toBeDefined();
          if (vr === "SQ") expect(found!.items).toHaveLength(0);
          else expect(value.length, `${where}: zero length`).toBe(0);
          break;
        case "dummy":
          expect(found, `${where}: present`).toBeDefined();
          if (vr !== "SQ") {
            expect(value.length, `${where}: non-empty`).toBeGreaterThan(0);
            expect(value.equals(originalValue), `${where}: replaced`).toBe(false);
          }
          break;
        case "remapUid":
          expect(value.toString("latin1").replace(/\0$/, ""), where).toMatch(/^2\.25\.\d+$/);
          break;
        case "keep":
          expect(found, `${where}: kept`).toBeDefined();
          if (vr !== "SQ") expect(value.equals(originalValue), `${where}: unchanged`).toBe(true);
          break;
        default:
          throw new Error(`no expectation for ${action}`);
      }
    }
  });
});
