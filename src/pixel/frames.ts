/** Splitting Pixel Data into frames and joining it back, native and encapsulated. */
import { PixelError } from "./errors.js";

/** Byte-swaps words of `width` bytes in place (Big Endian <-> Little Endian). */
export function swapInPlace(b: Uint8Array, width: number): void {
  if (width < 2) return;
  for (let i = 0; i + width <= b.length; i += width)
    for (let lo = i, hi = i + width - 1; lo < hi; lo++, hi--) {
      const t = b[lo]!;
      b[lo] = b[hi]!;
      b[hi] = t;
    }
}

/** The items of encapsulated Pixel Data: [basic offset table, ...fragments]. */
export function parseItems(fragments: Uint8Array): Uint8Array[] {
  const view = new DataView(fragments.buffer, fragments.byteOffset, fragments.byteLength);
  const items: Uint8Array[] = [];
  let o = 0;
  while (o + 8 <= fragments.length) {
    const group = view.getUint16(o, true);
    const element = view.getUint16(o + 2, true);
    const length = view.getUint32(o + 4, true);
    o += 8;
    if (group === 0xfffe && element === 0xe0dd) return items;
    if (group !== 0xfffe || element !== 0xe000 || o + length > fragments.length)
      throw new PixelError("PIXEL_CODEC_ERROR", "encapsulated Pixel Data item is malformed");
    items.push(fragments.subarray(o, o + length));
    o += length;
  }
  throw new PixelError("PIXEL_CODEC_ERROR", "encapsulated Pixel Data has no sequence delimiter");
}

/**
 * One frame per entry. One fragment per frame, or all fragments for a single frame; otherwise the
 * Basic Offset Table groups the fragments, or, without one (pitfall 8: multi-fragment frames and an
 * empty table), every fragment that starts a codestream (`startsFrame`: SOI, SOC) opens a frame.
 */
export function encapsulatedFrames(
  fragments: Uint8Array,
  frames: number,
  startsFrame?: (fragment: Uint8Array) => boolean,
): Uint8Array[] {
  const items = parseItems(fragments);
  const bot = items[0] ?? new Uint8Array(0);
  const frags = items.slice(1);
  if (frags.length === frames) return frags;
  if (frames === 1 && frags.length > 0) return [Buffer.concat(frags)];
  const groups: Uint8Array[][] = [];
  if (bot.length === 4 * frames && frags.length > frames) {
    const view = new DataView(bot.buffer, bot.byteOffset, bot.byteLength);
    const starts = Array.from({ length: frames }, (_, i) => view.getUint32(4 * i, true));
    if (starts[0] === 0 && starts.every((o, i) => i === 0 || o > starts[i - 1]!)) {
      let offset = 0;
      for (const f of frags) {
        if (starts.includes(offset)) groups.push([]);
        groups[groups.length - 1]!.push(f);
        offset += 8 + f.length;
      }
    }
  } else if (startsFrame && frags.length > frames) {
    for (const f of frags) {
      if (startsFrame(f) || groups.length === 0) groups.push([]);
      groups[groups.length - 1]!.push(f);
    }
  }
  if (groups.length === frames) return groups.map((g) => (g.length === 1 ? g[0]! : Buffer.concat(g)));
  throw new PixelError(
    "PIXEL_CODEC_ERROR",
    `encapsulated Pixel Data has ${frags.length} fragments for ${frames} frames`,
  );
}

/** Encapsulated Pixel Data: a basic offset table, one fragment per frame, the sequence delimiter. */
export function encapsulate(frames: readonly Uint8Array[]): Buffer {
  const padded = frames.map((f) => (f.length % 2 ? Buffer.concat([f, Buffer.alloc(1)]) : f));
  const total = 8 + 4 * padded.length + padded.reduce((a, f) => a + 8 + f.length, 0) + 8;
  const out = Buffer.alloc(total);
  let o = 0;
  const item = (length: number, element = 0xe000): void => {
    out.writeUInt16LE(0xfffe, o);
    out.writeUInt16LE(element, o + 2);
    out.writeUInt32LE(length, o + 4);
    o += 8;
  };
  item(4 * padded.length);
  let offset = 0;
  for (const f of padded) {
    out.writeUInt32LE(offset, o);
    o += 4;
    offset += 8 + f.length;
  }
  for (const f of padded) {
    item(f.length);
    out.set(f, o);
    o += f.length;
  }
  item(0, 0xe0dd);
  return out;
}
