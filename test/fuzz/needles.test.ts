/**
 * The fuzz test's leak check must itself be shown to work: it catches the swallow shape of issue 9
 * (a kept element whose wrong length holds the patient's name and ID), which a check that reads its
 * needles from the (mutated) input cannot see, and it stays quiet on a correct output.
 */
import zlib from "node:zlib";
import { describe, expect, it } from "vitest";
import { corpusFile } from "../helpers/corpus.js";
import { readWithDcmjs, writeWithDcmjs, pn } from "../helpers/dicom.js";
import { anonymized } from "../helpers/engine.js";
import { assemble, layoutOf } from "./layout.js";
import { makeCase, sourceOf, sweepCases } from "./mutate.js";
import { findNeedles, needlesOf } from "./needles.js";

const RTPLAN = corpusFile("rtplan-implicit-le.dcm");
const MODALITY = 0x00080060;

/** rtplan-implicit-le.dcm with Modality (CS, 6 bytes) declaring 202: it swallows through Patient ID. */
function modalitySwallowsPatient(): Buffer {
  const layout = layoutOf(RTPLAN);
  const modality = layout.elements.find((e) => e.tag === MODALITY && e.depth === 0)!;
  const patientId = layout.elements.find((e) => e.tag === 0x00100020 && e.depth === 0)!;
  const length = patientId.end - modality.valueOffset;
  expect(length).toBe(202); // the case as the issue reports it
  const dataset = Buffer.from(layout.dataset);
  dataset.writeUInt32LE(length, modality.lengthOffset);
  return assemble(layout, dataset);
}

/** A fake engine that does what the reader did: Patient Name and ID are "absent" (swallowed), so it
 * removes nothing of them, keeps Modality as read and says Patient Identity Removed. */
function fakeEngineKeepingTheSwallow(input: Buffer): Buffer {
  const { dict } = readWithDcmjs(input);
  expect(dict["00100010"]).toBeUndefined(); // the parse lost them: nothing to remove
  expect(dict["00100020"]).toBeUndefined();
  const kept: Record<string, { vr: string; Value?: unknown[] }> = {};
  for (const [tag, element] of Object.entries(dict))
    if (!/^00(08|20)00(18|0D|0E)$/i.test(tag)) kept[tag] = element;
  // Modality as read: its 202 bytes, kept verbatim (dcmjs will not write a 202-byte CS, so as UN).
  const modality = layoutOf(input).elements.find((e) => e.tag === MODALITY && e.depth === 0)!;
  const value = layoutOf(input).dataset.subarray(
    modality.valueOffset,
    modality.valueOffset + modality.length,
  );
  kept["00080060"] = { vr: "UN", Value: [new Uint8Array(value).buffer] };
  kept["00120062"] = { vr: "CS", Value: ["YES"] };
  kept["00080018"] = { vr: "UI", Value: ["2.25.1234"] };
  return writeWithDcmjs(kept);
}

describe("the swallow-proof leak check", () => {
  it("flags a fake engine that keeps a Modality whose length swallowed Patient Name and ID", () => {
    const mutated = modalitySwallowsPatient();
    const output = fakeEngineKeepingTheSwallow(mutated);
    const keywords = findNeedles(output, needlesOf(RTPLAN)).map((h) => h.keyword);
    expect(keywords).toContain("PatientName");
    expect(keywords).toContain("PatientID");
    // Needles taken from the mutated input itself would have missed it: its parse has no Patient Name.
    expect(needlesOf(mutated).map((n) => n.keyword)).not.toContain("PatientName");
    expect(needlesOf(mutated).map((n) => n.keyword)).not.toContain("PatientID");
  });

  it("the engine sweep of the fuzz test contains exactly that case", () => {
    const mutated = modalitySwallowsPatient();
    expect(
      sweepCases(sourceOf("public/rtplan-implicit-le.dcm", RTPLAN)).some((c) => c.bytes.equals(mutated)),
    ).toBe(true);
  });

  it("finds nothing in a correct output of the pristine file", () => {
    for (const profile of ["basic", "hipaa"]) {
      const out = anonymized(RTPLAN, profile).output;
      expect(findNeedles(out, needlesOf(RTPLAN))).toEqual([]);
    }
  });

  it("takes person-name components as needles and finds them alone", () => {
    const needles = needlesOf(RTPLAN);
    const input = writeWithDcmjs({ "00081030": { vr: "LO", Value: ["study of First mid"] } });
    expect(needles.some((n) => n.keyword === "PatientName" && n.raw === "First")).toBe(true);
    expect(findNeedles(input, needles).map((h) => h.keyword)).toContain("PatientName");
  });

  it("looks inside a deflated output, and not inside Pixel Data", () => {
    const waveform = corpusFile("waveform-hemodynamic-deflate.dcm");
    const needles = needlesOf(waveform);
    // The compressed bytes do not show the name; the inflated dataset does.
    expect(waveform.includes("Patient^Test")).toBe(false);
    expect(findNeedles(waveform, needles).map((h) => h.keyword)).toContain("PatientName");

    const name = Buffer.from("Last^First^mid^pre");
    const inPixels = writeWithDcmjs({
      "00100010": pn("ANON"),
      "7FE00010": { vr: "OB", Value: [new Uint8Array(Buffer.concat([name, Buffer.alloc(14)])).buffer] },
    });
    expect(findNeedles(inPixels, needlesOf(RTPLAN))).toEqual([]);
    const inPrivate = writeWithDcmjs({
      "00090010": { vr: "LO", Value: ["CREATOR"] },
      "00091001": { vr: "OB", Value: [new Uint8Array(Buffer.concat([name, Buffer.alloc(14)])).buffer] },
    });
    expect(findNeedles(inPrivate, needlesOf(RTPLAN)).map((h) => h.keyword)).toContain("PatientName");
  });

  it("matches numbers only where no digit touches them, and skips short ones", () => {
    const source = writeWithDcmjs({
      "00100020": { vr: "LO", Value: ["12345678"] },
      "00200010": { vr: "SH", Value: ["4242"] },
    });
    const needles = needlesOf(source);
    expect([...new Set(needles.map((n) => n.raw))]).toEqual(["12345678"]);
    const inside = writeWithDcmjs({ "00081030": { vr: "LO", Value: ["9123456789"] } });
    const alone = writeWithDcmjs({ "00081030": { vr: "LO", Value: ["ref 12345678 x"] } });
    expect(findNeedles(inside, needles)).toEqual([]);
    expect(new Set(findNeedles(alone, needles).map((h) => h.keyword))).toEqual(new Set(["PatientID"]));
  });
});

describe("the mutations", () => {
  it("are deterministic: a seed and a case id give the same bytes", () => {
    const sources = [sourceOf("public/rtplan-implicit-le.dcm", RTPLAN)];
    for (let i = 0; i < 50; i++) {
      const a = makeCase(7, i, sources);
      const b = makeCase(7, i, sources);
      expect(a.mutation).toBe(b.mutation);
      expect(a.bytes.equals(b.bytes)).toBe(true);
    }
    expect(makeCase(7, 1, sources).bytes.equals(makeCase(8, 1, sources).bytes)).toBe(false);
  });

  it("a re-deflated dataset stays a valid deflate stream", () => {
    const source = sourceOf(
      "public/waveform-hemodynamic-deflate.dcm",
      corpusFile("waveform-hemodynamic-deflate.dcm"),
    );
    const again = assemble(source.layout, source.layout.dataset);
    expect(
      zlib.inflateRawSync(again.subarray(source.layout.prefix.length)).equals(source.layout.dataset),
    ).toBe(true);
  });
});
