/**
 * Optimal Huffman tables of the DCT-domain JPEG redactor (ITU T.81 K.2): code lengths limited to 16
 * bits, no all-ones code, prefix-free canonical codes, and never longer in total than the standard
 * tables of Annex K.3 for the same symbols.
 */
import { describe, expect, it } from "vitest";
import {
  buildDecodeTable,
  buildEncodeTable,
  optimalSpec,
  type HuffmanSpec,
} from "../../../src/pixel/jpeg-dct/huffman.js";

/** Each code as a bit string, by symbol. */
function codes(spec: HuffmanSpec): Map<number, string> {
  const t = buildEncodeTable(spec);
  const out = new Map<number, string>();
  for (const s of spec.values) out.set(s, t.code[s]!.toString(2).padStart(t.size[s]!, "0"));
  return out;
}

function checkValid(spec: HuffmanSpec, symbols: readonly number[]): void {
  expect([...spec.values].sort((a, b) => a - b)).toEqual([...symbols].sort((a, b) => a - b));
  const total = [...spec.bits.subarray(1)].reduce((a, b) => a + b, 0);
  expect(total).toBe(symbols.length);
  const c = [...codes(spec).values()];
  for (const code of c) {
    expect(code.length).toBeGreaterThan(0);
    expect(code.length).toBeLessThanOrEqual(16);
    expect(/^1+$/.test(code)).toBe(false); // the reserved code point: no all-ones code
  }
  // Prefix-free: in sorted order a code's extensions would follow it directly.
  const sorted = [...c].sort();
  for (let i = 1; i < sorted.length; i++) expect(sorted[i]!.startsWith(sorted[i - 1]!)).toBe(false);
  // Kraft sum strictly below 1: one code point is left for the reserved symbol.
  const kraft = c.reduce((a, code) => a + 2 ** -code.length, 0);
  expect(kraft).toBeLessThan(1);
  buildDecodeTable(spec); // accepted by the decoder's own table check
}

describe("optimal Huffman tables (K.2)", () => {
  it("frequencies that need codes longer than 16 bits are limited to 16 (K.3 adjustment)", () => {
    // Doubling frequencies give a chain: 30 symbols would need code lengths up to 30.
    const freq = new Int32Array(256);
    for (let s = 0; s < 30; s++) freq[s * 3] = 2 ** s;
    const spec = optimalSpec(freq);
    checkValid(
      spec,
      Array.from({ length: 30 }, (_, s) => s * 3),
    );
    expect(spec.bits[16]).toBeGreaterThan(0);
  });

  it("one symbol gets a one-bit code that is not all ones", () => {
    const freq = new Int32Array(256);
    freq[7] = 1000;
    const spec = optimalSpec(freq);
    checkValid(spec, [7]);
    expect(codes(spec).get(7)).toBe("0");
  });

  it("all 256 symbols", () => {
    const freq = Int32Array.from({ length: 256 }, (_, i) => 1 + ((i * 7919) % 1000));
    checkValid(
      optimalSpec(freq),
      Array.from({ length: 256 }, (_, i) => i),
    );
  });

  it("costs no more bits than the standard luminance DC table for the same counts", () => {
    // T.81 Table K.3: code lengths of categories 0..11.
    const standard = [2, 3, 3, 3, 3, 3, 4, 5, 6, 7, 8, 9];
    const freq = new Int32Array(256);
    [50, 900, 400, 300, 120, 60, 10, 5, 2, 1, 1, 1].forEach((f, i) => (freq[i] = f));
    const spec = optimalSpec(freq);
    checkValid(
      spec,
      Array.from({ length: 12 }, (_, i) => i),
    );
    const c = codes(spec);
    const cost = (len: (s: number) => number): number =>
      standard.reduce((a, _, s) => a + freq[s]! * len(s), 0);
    expect(cost((s) => c.get(s)!.length)).toBeLessThan(cost((s) => standard[s]!));
  });

  it("refuses a table slot with no symbols", () => {
    expect(() => optimalSpec(new Int32Array(256))).toThrow(/no symbols/);
  });
});
