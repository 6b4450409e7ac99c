/**
 * Frames of encapsulated Pixel Data (frames.ts): one fragment per frame, several fragments per frame
 * found through the Basic Offset Table, or without one by the fragments that start a codestream
 * (pitfall 8); anything else is PIXEL_CODEC_ERROR, never a wrong split.
 */
import { describe, expect, it } from "vitest";
import { encapsulate, encapsulatedFrames } from "../../../src/pixel/frames.js";

const soi = (f: Uint8Array): boolean => f[0] === 0xff && f[1] === 0xd8;

/** Items: a BOT (offsets or empty) and the given fragments, then the sequence delimiter. */
function items(bot: number[], fragments: Uint8Array[]): Buffer {
  const parts: Buffer[] = [];
  const item = (value: Uint8Array): void => {
    const h = Buffer.alloc(8);
    h.writeUInt16LE(0xfffe, 0);
    h.writeUInt16LE(0xe000, 2);
    h.writeUInt32LE(value.length, 4);
    parts.push(h, Buffer.from(value));
  };
  const b = Buffer.alloc(4 * bot.length);
  bot.forEach((o, i) => b.writeUInt32LE(o, 4 * i));
  item(b);
  fragments.forEach(item);
  parts.push(Buffer.from([0xfe, 0xff, 0xdd, 0xe0, 0, 0, 0, 0]));
  return Buffer.concat(parts);
}

// Two frames of three fragments each; each frame begins with SOI.
const frameA = [Uint8Array.of(0xff, 0xd8, 1, 2), Uint8Array.of(3, 4), Uint8Array.of(5, 6, 0xff, 0xd9)];
const frameB = [Uint8Array.of(0xff, 0xd8, 7, 8), Uint8Array.of(9, 10, 11, 12), Uint8Array.of(0xff, 0xd9)];
const joined = (f: Uint8Array[]): Buffer => Buffer.concat(f);

describe("encapsulatedFrames", () => {
  it("one fragment per frame; all fragments for a single frame", () => {
    const two = encapsulatedFrames(encapsulate([joined(frameA), joined(frameB)]), 2);
    expect(two.map((f) => Buffer.from(f))).toEqual([joined(frameA), joined(frameB)]);
    expect(Buffer.from(encapsulatedFrames(items([], frameA), 1)[0]!)).toEqual(joined(frameA));
  });
  it("several fragments per frame through the Basic Offset Table (no marker needed)", () => {
    const offsetB = frameA.reduce((a, f) => a + 8 + f.length, 0);
    const frames = encapsulatedFrames(items([0, offsetB], [...frameA, ...frameB]), 2);
    expect(frames.map((f) => Buffer.from(f))).toEqual([joined(frameA), joined(frameB)]);
  });
  it("several fragments per frame without a table: split where a codestream starts", () => {
    const frames = encapsulatedFrames(items([], [...frameA, ...frameB]), 2, soi);
    expect(frames.map((f) => Buffer.from(f))).toEqual([joined(frameA), joined(frameB)]);
  });
  it("a split that does not give the frame count is refused, not guessed", () => {
    for (const [bot, startsFrame] of [
      [[], undefined], // no table, no marker test
      [[0, 3], undefined], // offset inside a fragment
      [[], () => false], // no fragment starts a codestream... but the first
    ] as const)
      expect(() => encapsulatedFrames(items([...bot], [...frameA, ...frameB]), 2, startsFrame)).toThrow(
        expect.objectContaining({ code: "PIXEL_CODEC_ERROR" }),
      );
    // Three codestreams for two frames.
    expect(() => encapsulatedFrames(items([], [...frameA, ...frameB, frameA[0]!]), 2, soi)).toThrow(
      expect.objectContaining({ code: "PIXEL_CODEC_ERROR" }),
    );
  });
});
