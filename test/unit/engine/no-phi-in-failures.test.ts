/** Canary: failure reasons name tags and offsets, never values, whatever made the instance fail. */
import { describe, expect, it } from "vitest";
import { instance, leaf, seq } from "../../helpers/build.js";
import { anonymize, REGISTRY } from "../../helpers/engine.js";

const MARKERS = ["ZZMARKER", "ZZSECRET", "ZZ0042", "1.2.3.4.9042"];
const phi = [
  leaf(0x00100010, "PN", "ZZMARKER^PHI"),
  leaf(0x00100020, "LO", "ZZ0042"),
  leaf(0x00081030, "LO", "ZZSECRET study"),
];

function custom(rules: unknown[], extra: Record<string, unknown> = {}) {
  return REGISTRY.compileCustom({
    name: "c",
    description: "c",
    version: "0",
    extends: "hipaa",
    rules,
    ...extra,
  });
}

/** The instance with its File Meta Transfer Syntax UID value overwritten in place (same length). */
function transferSyntaxReplaced(file: Buffer, text: string): Buffer {
  const out = Buffer.from(file);
  const at = out.indexOf(Buffer.from([0x02, 0x00, 0x10, 0x00, 0x55, 0x49]), 132);
  const length = out.readUInt16LE(at + 6);
  out.write(text.padEnd(length, " ").slice(0, length), at + 8, "latin1");
  return out;
}

describe("failure reasons carry no PHI", () => {
  const cases: Array<[string, Buffer, Parameters<typeof anonymize>[1]]> = [
    ["truncated input", instance(phi).subarray(0, 300), "hipaa"],
    [
      "an action that does not fit",
      instance([...phi, seq(0x00081140, [leaf(0x00100010, "PN", "ZZMARKER^PHI")])]),
      custom([{ tag: "(0008,1140)", action: "capAge" }]),
    ],
    ["burned-in annotation", instance([...phi, leaf(0x00280301, "CS", "YES")]), "hipaa"],
    [
      // A wrong length of the File Meta's Transfer Syntax UID pulls dataset bytes into its value
      // (found by the fuzz test): the reason must not echo them.
      "a transfer syntax that is not a UID",
      transferSyntaxReplaced(instance(phi), "ZZMARKER^PHI.1.2"),
      "hipaa",
    ],
    ["unknown character set", instance([leaf(0x00080005, "CS", "ZZMARKER-CHARSET"), ...phi]), "hipaa"],
    [
      // A UID that is remapped in one place but kept in another (unlisted) UI element, which no
      // cleaning can fix: verify refuses.
      "verification failure",
      instance([
        ...phi,
        leaf(0x0020000d, "UI", "1.2.3.4.9042"),
        seq(0x00283010, [leaf(0x0008001a, "UI", "1.2.3.4.9042")]),
      ]),
      "hipaa",
    ],
  ];

  it.each(cases)("%s", (_name, input, profile) => {
    const outcome = anonymize(input, profile);
    expect(outcome.status).toBe("failed");
    const text = JSON.stringify(outcome);
    for (const marker of MARKERS) expect(text).not.toContain(marker);
  });
});
