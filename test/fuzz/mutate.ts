/**
 * Seeded, deterministic mutations of corpus files, each described by its kind, tag and offset (never
 * a value): bit flips, truncation at element boundaries, lengths that swallow following elements or
 * run to or past the end, VR bytes swapped or broken, tags flipped or planted (unknown public
 * elements holding the patient's name), elements duplicated or reordered, sequences nested deep.
 * Case `n` of seed `s` is always the same bytes, so a failure reproduces from (seed, case id).
 */
import { assemble, dictionaryVr, ITEM, ITEM_DELIMITATION, isLongVr, layoutOf, PIXEL_DATA,
  SEQUENCE_DELIMITATION, tagText, VRS, type ElementSpan, type Layout } from "./layout.js"; // prettier-ignore
import { IDENTIFYING, needlesOf, plantedNeedle, type Needle } from "./needles.js";

import { prng } from "../helpers/prng.js";

export { prng };

export interface Source {
  /** "public/<file>" or "realworld/<file>". */
  readonly label: string;
  readonly bytes: Buffer;
  readonly layout: Layout;
  readonly needles: readonly Needle[];
}

export function sourceOf(label: string, bytes: Buffer): Source {
  return { label, bytes, layout: layoutOf(bytes), needles: needlesOf(bytes) };
}

export type MutationKind =
  "bitflip" | "truncate" | "length" | "vr" | "tag" | "plant" | "reorder" | "nest" | "syntax";

export interface FuzzCase {
  readonly id: string;
  readonly source: Source;
  readonly kind: MutationKind;
  /** What was done, by tag and offset (no values). */
  readonly mutation: string;
  readonly bytes: Buffer;
  /** Values the mutation itself put into the input (besides the source's own needles). */
  readonly planted: readonly Needle[];
}

type Rng = () => number;
const pick = <T>(rng: Rng, xs: readonly T[]): T => xs[Math.floor(rng() * xs.length)]!;
const int = (rng: Rng, lo: number, hi: number) => lo + Math.floor(rng() * (hi - lo + 1));

const WEIGHTS: Array<[MutationKind, number]> = [
  ["bitflip", 14],
  ["truncate", 12],
  ["length", 26],
  ["vr", 14],
  ["tag", 8],
  ["plant", 9],
  ["reorder", 9],
  ["nest", 8],
  ["syntax", 5],
];

const complete = (l: Layout) => l.elements.filter((e) => e.end > 0);
const isExplicitSpan = (e: ElementSpan) => e.lengthOffset - e.offset !== 4;

/** Builds case `index` of `seed` from one of `sources` (the choice is part of the case). */
export function makeCase(seed: number, index: number, sources: readonly Source[]): FuzzCase {
  const rng = prng((seed ^ Math.imul(index + 1, 0x9e3779b1)) >>> 0);
  const source = pick(rng, sources);
  const total = WEIGHTS.reduce((n, [, w]) => n + w, 0);
  let r = rng() * total;
  let kind: MutationKind = "bitflip";
  for (const [k, w] of WEIGHTS) {
    if ((r -= w) < 0) {
      kind = k;
      break;
    }
  }
  const id = `c${index}`;
  const elements = complete(source.layout);
  // A mutation that does not apply to this file (no explicit VR, nothing walked) falls back to one that does.
  if (elements.length === 0) kind = rng() < 0.5 ? "bitflip" : "truncate";
  if (kind === "vr" && !elements.some(isExplicitSpan)) kind = "length";
  if (kind === "syntax" && source.layout.prefix.length <= 132) kind = "length";
  const m = MUTATORS[kind](source, rng, elements);
  return { id, source, kind, mutation: `${kind}:${m.what}`, bytes: m.bytes, planted: m.planted ?? [] };
}

interface Mutated {
  readonly what: string;
  readonly bytes: Buffer;
  readonly planted?: Needle[];
}

type Mutator = (s: Source, rng: Rng, elements: ElementSpan[]) => Mutated;

function withDataset(s: Source, edit: (ds: Buffer) => Buffer): Buffer {
  return assemble(s.layout, edit(Buffer.from(s.layout.dataset)));
}

function writeLength(ds: Buffer, e: ElementSpan, value: number, littleEndian: boolean): void {
  if (e.lengthSize === 2) {
    if (littleEndian) ds.writeUInt16LE(value, e.lengthOffset);
    else ds.writeUInt16BE(value, e.lengthOffset);
  } else if (littleEndian) ds.writeUInt32LE(value >>> 0, e.lengthOffset);
  else ds.writeUInt32BE(value >>> 0, e.lengthOffset);
}

const spanLe = (s: Source, e: ElementSpan) => s.layout.syntax.littleEndian || !isExplicitSpan(e);

function bulkRange(s: Source): [number, number] | undefined {
  const pixel = s.layout.elements.find((e) => e.tag === PIXEL_DATA && e.depth === 0);
  return pixel ? [pixel.valueOffset, pixel.end > 0 ? pixel.end : s.layout.dataset.length] : undefined;
}

const MUTATORS: Record<MutationKind, Mutator> = {
  bitflip(s, rng) {
    const flips: string[] = [];
    const inPrefix = s.layout.prefix.length > 132 && rng() < 0.15;
    const count = int(rng, 1, 3);
    if (inPrefix) {
      const bytes = Buffer.from(s.bytes);
      for (let i = 0; i < count; i++) {
        const at = int(rng, 132, s.layout.prefix.length - 1);
        const bit = int(rng, 0, 7);
        bytes[at]! ^= 1 << bit;
        flips.push(`meta@${at}.${bit}`);
      }
      return { what: flips.join(","), bytes };
    }
    const bulk = bulkRange(s);
    const bytes = withDataset(s, (ds) => {
      for (let i = 0; i < count && ds.length > 0; i++) {
        let at = int(rng, 0, ds.length - 1);
        if (bulk && at >= bulk[0] && at < bulk[1] && rng() < 0.9) at = int(rng, 0, Math.max(0, bulk[0] - 1));
        const bit = int(rng, 0, 7);
        ds[at]! ^= 1 << bit;
        flips.push(`@${at}.${bit}`);
      }
      return ds;
    });
    return { what: flips.join(","), bytes };
  },

  truncate(s, rng, elements) {
    const boundaries = elements.flatMap((e) => [e.offset, e.valueOffset, e.end]);
    if (boundaries.length === 0 || rng() < 0.1) {
      const at = int(rng, 0, s.bytes.length - 1);
      return { what: `file@${at}`, bytes: s.bytes.subarray(0, at) };
    }
    let at = pick(rng, boundaries);
    const jitter = rng() < 0.25 ? int(rng, -3, 3) : 0;
    at = Math.min(Math.max(0, at + jitter), s.layout.dataset.length);
    return {
      what: `dataset@${at}${jitter ? `(${jitter >= 0 ? "+" : ""}${jitter})` : ""}`,
      bytes: withDataset(s, (ds) => ds.subarray(0, at)),
    };
  },

  length(s, rng, elements) {
    const siblingsAfter = (e: ElementSpan) =>
      elements.filter((x) => x.parent === e.parent && x.offset > e.offset);
    const swallowable = elements.filter(
      (e) =>
        e.length !== 0xffffffff && e.tag !== PIXEL_DATA && siblingsAfter(e).some((x) => IDENTIFYING[x.tag]),
    );
    const defined = elements.filter((e) => e.length !== 0xffffffff);
    const e =
      swallowable.length > 0 && rng() < 0.7
        ? pick(rng, swallowable)
        : pick(rng, defined.length ? defined : elements);
    const after = siblingsAfter(e);
    const datasetEnd = s.layout.dataset.length;
    const variants: Array<() => [string, number]> = [
      () => {
        const k = int(rng, 1, Math.max(1, Math.min(6, after.length)));
        const last = after[k - 1];
        return [`swallow-next(${k})`, last ? last.end - e.valueOffset : e.length + 8];
      },
      () => {
        const target =
          after.find((x) => IDENTIFYING[x.tag] && rng() < 0.6) ?? after.find((x) => IDENTIFYING[x.tag]);
        return target
          ? [`swallow-through${tagText(target.tag)}`, target.end - e.valueOffset]
          : ["plus(8)", e.length + 8];
      },
      () => ["to-end", datasetEnd - e.valueOffset],
      () => {
        const k = int(rng, 1, 64);
        return [`past-end(+${k})`, datasetEnd - e.valueOffset + k];
      },
      () => ["plus(1)", e.length + 1],
      () => ["minus(1)", e.length - 1],
      () => ["plus(2)", e.length + 2],
      () => ["minus(2)", e.length - 2],
      () => ["undefined", 0xffffffff],
      () => ["zero", 0],
      () => ["random", Math.floor(rng() * 0x100000000)],
    ];
    let [name, value] = pick(rng, variants)();
    const max = e.lengthSize === 2 ? 0xffff : 0xffffffff;
    if (value < 0) value = max; // minus on a zero length wraps, as a writer's bug would
    if (value > max) {
      name += "(clamped)";
      value = max;
    }
    const bytes = withDataset(s, (ds) => {
      writeLength(ds, e, value, spanLe(s, e));
      return ds;
    });
    return { what: `${name} ${tagText(e.tag)}@${e.offset}`, bytes };
  },

  vr(s, rng, elements) {
    const explicit = elements.filter(isExplicitSpan);
    const preferred = explicit.filter((e) => IDENTIFYING[e.tag] || e.vr === "SQ" || e.depth === 0);
    const e = pick(rng, preferred.length && rng() < 0.7 ? preferred : explicit);
    const variants: Array<() => [string, Buffer]> = [
      () => {
        const vr = pick(
          rng,
          VRS.filter((v) => v !== e.vr),
        );
        const sameForm = isLongVr(vr) === isLongVr(e.vr);
        return [`${e.vr}->${vr}${sameForm ? "" : "(other header form)"}`, Buffer.from(vr, "latin1")];
      },
      () => [`${e.vr}->zero`, Buffer.from([0, 0])],
      () => [`${e.vr}->garbage`, Buffer.from([int(rng, 0, 255), int(rng, 0, 255)])],
      () => [`${e.vr}->lowercase`, Buffer.from(e.vr.toLowerCase(), "latin1")],
      () => [`${e.vr}->UN`, Buffer.from("UN", "latin1")],
    ];
    const [name, vrBytes] = pick(rng, variants)();
    const bytes = withDataset(s, (ds) => {
      vrBytes.copy(ds, e.offset + 4);
      return ds;
    });
    return { what: `${name} ${tagText(e.tag)}@${e.offset}`, bytes };
  },

  tag(s, rng, elements) {
    const identifying = elements.filter((e) => IDENTIFYING[e.tag]);
    const e = identifying.length && rng() < 0.8 ? pick(rng, identifying) : pick(rng, elements);
    // Bit 3 of the element number turns (0010,0010) into (0010,0018): still in ascending order.
    const bit = rng() < 0.4 ? 3 : int(rng, 0, 31);
    const flipped = (e.tag ^ (1 << bit)) >>> 0;
    const le = spanLe(s, e);
    const bytes = withDataset(s, (ds) => {
      const g = flipped >>> 16;
      const el = flipped & 0xffff;
      if (le) {
        ds.writeUInt16LE(g, e.offset);
        ds.writeUInt16LE(el, e.offset + 2);
      } else {
        ds.writeUInt16BE(g, e.offset);
        ds.writeUInt16BE(el, e.offset + 2);
      }
      return ds;
    });
    return { what: `${tagText(e.tag)}->${tagText(flipped)}@${e.offset}`, bytes };
  },

  plant(s, rng, elements) {
    // Unknown public elements (not in the dictionary) holding the patient's name or ID.
    const candidates: Array<[number, string]> = [
      [0x00100018, "PN"],
      [0x00109999, "LO"],
      [0x0040a999, "PN"],
      [0x00089999, "PN"],
      [0x00209999, "LO"],
      [0x00181999, "SH"],
    ];
    const top = elements.filter((e) => e.depth === 0);
    const free = candidates.filter(([t]) => !top.some((e) => e.tag === t) && dictionaryVr(t) === undefined);
    const [tag, vr] = pick(rng, free.length ? free : candidates);
    const value = plantValue(s, rng, vr === "PN" ? "Plantedfamily^Plantedgiven" : "PLANTEDID4242");
    const element = encodeElement(s, tag, vr, Buffer.from(value.text, "latin1"));
    const at = insertionPoint(top, tag, s.layout.dataset.length);
    const bytes = withDataset(s, (ds) => Buffer.concat([ds.subarray(0, at), element, ds.subarray(at)]));
    return { what: `${tagText(tag)} ${vr} (${value.from})@${at}`, bytes, planted: value.needles };
  },

  reorder(s, rng, elements) {
    const top = elements.filter((e) => e.depth === 0);
    const variant = int(rng, 0, 2);
    if (variant === 0 || top.length < 2) {
      const e = pick(rng, top);
      const bytes = withDataset(s, (ds) =>
        Buffer.concat([ds.subarray(0, e.end), ds.subarray(e.offset, e.end), ds.subarray(e.end)]),
      );
      return { what: `duplicate ${tagText(e.tag)}@${e.offset}`, bytes };
    }
    if (variant === 1) {
      const i = int(rng, 0, top.length - 2);
      const [a, b] = [top[i]!, top[i + 1]!];
      const bytes = withDataset(s, (ds) =>
        Buffer.concat([
          ds.subarray(0, a.offset),
          ds.subarray(b.offset, b.end),
          ds.subarray(a.offset, a.end),
          ds.subarray(b.end),
        ]),
      );
      return { what: `swap ${tagText(a.tag)}<->${tagText(b.tag)}@${a.offset}`, bytes };
    }
    const identifying = top.filter((e) => IDENTIFYING[e.tag]);
    const e = pick(rng, identifying.length ? identifying : top);
    const bytes = withDataset(s, (ds) =>
      Buffer.concat([ds.subarray(0, e.offset), ds.subarray(e.end), ds.subarray(e.offset, e.end)]),
    );
    return { what: `move-to-end ${tagText(e.tag)}@${e.offset}`, bytes };
  },

  syntax(s, rng) {
    // The File Meta names another transfer syntax than the dataset is encoded in: native pixel data
    // under an encapsulated syntax, fragments under a native one, implicit read as explicit...
    const uid = pick(rng, SYNTAXES);
    return {
      what: `declared ${uid}`,
      bytes: Buffer.concat([
        withTransferSyntax(s.layout.prefix, uid),
        s.bytes.subarray(s.layout.prefix.length),
      ]),
    };
  },

  nest(s, rng, elements) {
    const top = elements.filter((e) => e.depth === 0);
    const sqTags = [0x0040a730, 0x00081140, 0x00400275, 0x00081115, 0x00081250].filter(
      (t) => !top.some((e) => e.tag === t),
    );
    const tag = sqTags[0] ?? 0x0040a730;
    const depth = pick(rng, [1, 2, 8, 32, 63, 64, 65, 100, 1000]);
    const undefinedLengths = rng() < 0.5;
    const value = plantValue(s, rng, "Nestedfamily^Nestedgiven");
    const le = s.layout.syntax.littleEndian;
    let inner = Buffer.concat([
      encodeElement(s, 0x00100010, "PN", Buffer.from(value.text, "latin1")),
      encodeElement(s, 0x00100020, "LO", Buffer.from("NESTEDID77", "latin1")),
    ]);
    for (let level = 0; level < depth; level++) {
      const item = undefinedLengths
        ? Buffer.concat([header(ITEM, 0xffffffff, le), inner, header(ITEM_DELIMITATION, 0, le)])
        : Buffer.concat([header(ITEM, inner.length, le), inner]);
      inner = undefinedLengths
        ? Buffer.concat([sqHeader(s, tag, 0xffffffff), item, header(SEQUENCE_DELIMITATION, 0, le)])
        : Buffer.concat([sqHeader(s, tag, item.length), item]);
    }
    const at = insertionPoint(top, tag, s.layout.dataset.length);
    const bytes = withDataset(s, (ds) => Buffer.concat([ds.subarray(0, at), inner, ds.subarray(at)]));
    return {
      what: `depth(${depth})${undefinedLengths ? " undefined-lengths" : ""} ${tagText(tag)} (${value.from})@${at}`,
      bytes,
      planted: [...value.needles, plantedNeedle("PatientID", "NESTEDID77")],
    };
  },
};

const SYNTAXES = [
  "1.2.840.10008.1.2",
  "1.2.840.10008.1.2.1",
  "1.2.840.10008.1.2.2",
  "1.2.840.10008.1.2.1.99",
  "1.2.840.10008.1.2.4.50",
  "1.2.840.10008.1.2.4.70",
  "1.2.840.10008.1.2.4.90",
  "1.2.840.10008.1.2.5",
  "1.2.840.10008.1.2.1.98",
];

/** The File Meta (preamble included) with its Transfer Syntax UID replaced and its group length fixed. */
function withTransferSyntax(prefix: Buffer, uid: string): Buffer {
  const start = prefix.toString("latin1", 128, 132) === "DICM" ? 132 : 0;
  const out: Buffer[] = [prefix.subarray(0, start)];
  let groupLength: Buffer | undefined;
  let offset = start;
  while (offset + 8 <= prefix.length) {
    const element = prefix.readUInt16LE(offset + 2);
    const vr = prefix.toString("latin1", offset + 4, offset + 6);
    const long = isLongVr(vr);
    const headerLength = long ? 12 : 8;
    const length = long ? prefix.readUInt32LE(offset + 8) : prefix.readUInt16LE(offset + 6);
    let bytes = prefix.subarray(offset, offset + headerLength + length);
    if (element === 0x0010) {
      const value = Buffer.from(uid.length % 2 ? `${uid}\0` : uid, "latin1");
      bytes = Buffer.concat([bytes.subarray(0, 8), value]);
      bytes.writeUInt16LE(value.length, 6);
    }
    if (element === 0x0000 && vr === "UL") groupLength = bytes = Buffer.from(bytes);
    out.push(bytes);
    offset += headerLength + length;
  }
  if (groupLength) {
    const after = out.slice(out.indexOf(groupLength) + 1).reduce((n, b) => n + b.length, 0);
    groupLength.writeUInt32LE(after, 8);
  }
  return Buffer.concat(out);
}

/** The pristine Patient Name (so the source's own needle is what must not come out), or a marker. */
function plantValue(s: Source, rng: Rng, marker: string): { text: string; from: string; needles: Needle[] } {
  const name = s.layout.elements.find((e) => e.tag === 0x00100010 && e.depth === 0 && e.end > 0);
  if (name && name.length >= 4 && name.length < 200 && rng() < 0.7) {
    const text = s.layout.dataset
      .toString("latin1", name.valueOffset, name.valueOffset + name.length)
      .replace(/[\0 ]+$/, "");
    if (text.length >= 4) return { text, from: "source PatientName", needles: [] };
  }
  return { text: marker, from: "marker", needles: [plantedNeedle("planted", marker)] };
}

function header(tag: number, length: number, le: boolean): Buffer {
  const b = Buffer.alloc(8);
  if (le) {
    b.writeUInt16LE(tag >>> 16, 0);
    b.writeUInt16LE(tag & 0xffff, 2);
    b.writeUInt32LE(length >>> 0, 4);
  } else {
    b.writeUInt16BE(tag >>> 16, 0);
    b.writeUInt16BE(tag & 0xffff, 2);
    b.writeUInt32BE(length >>> 0, 4);
  }
  return b;
}

function sqHeader(s: Source, tag: number, length: number): Buffer {
  const le = s.layout.syntax.littleEndian;
  if (!s.layout.syntax.explicitVr) return header(tag, length, true);
  const b = Buffer.alloc(12);
  const h = header(tag, 0, le);
  h.copy(b, 0, 0, 4);
  b.write("SQ", 4, "latin1");
  if (le) b.writeUInt32LE(length >>> 0, 8);
  else b.writeUInt32BE(length >>> 0, 8);
  return b;
}

/** One short-VR element in the source's encoding, its value padded to even length. */
function encodeElement(s: Source, tag: number, vr: string, value: Buffer): Buffer {
  const padded = value.length % 2 ? Buffer.concat([value, Buffer.from(" ")]) : value;
  const le = s.layout.syntax.littleEndian;
  if (!s.layout.syntax.explicitVr) return Buffer.concat([header(tag, padded.length, true), padded]);
  const b = Buffer.alloc(8);
  header(tag, 0, le).copy(b, 0, 0, 4);
  b.write(vr, 4, "latin1");
  if (le) b.writeUInt16LE(padded.length, 6);
  else b.writeUInt16BE(padded.length, 6);
  return Buffer.concat([b, padded]);
}

/** Where a top-level element with `tag` goes to keep ascending order. */
function insertionPoint(top: readonly ElementSpan[], tag: number, datasetEnd: number): number {
  const next = top.find((e) => e.tag > tag);
  return next ? next.offset : datasetEnd;
}

/** The Nth-element-boundary truncations and the swallow-through sweep of one file (deterministic). */
export function sweepCases(s: Source): FuzzCase[] {
  const cases: FuzzCase[] = [];
  const elements = complete(s.layout);
  const boundaries = [...new Set(elements.flatMap((e) => [e.offset, e.valueOffset, e.end]))].sort(
    (a, b) => a - b,
  );
  for (const at of boundaries) {
    cases.push({
      id: `t${at}`,
      source: s,
      kind: "truncate",
      mutation: `truncate:dataset@${at}`,
      bytes: withDataset(s, (ds) => ds.subarray(0, at)),
      planted: [],
    });
  }
  // Every leaf before an identifying element, its length made to swallow through that element.
  for (const e of elements) {
    if (e.length === 0xffffffff || e.vr === "SQ") continue;
    for (const target of elements.filter(
      (x) => x.parent === e.parent && x.offset > e.offset && IDENTIFYING[x.tag],
    )) {
      const length = target.end - e.valueOffset;
      if (e.lengthSize === 2 && length > 0xffff) continue;
      cases.push({
        id: `s${e.offset}-${target.offset}`,
        source: s,
        kind: "length",
        mutation: `length:swallow-through${tagText(target.tag)} ${tagText(e.tag)}@${e.offset}`,
        bytes: withDataset(s, (ds) => {
          writeLength(ds, e, length, spanLe(s, e));
          return ds;
        }),
        planted: [],
      });
    }
  }
  return cases;
}

/** Every explicit-VR sequence of a file (top level and one down) sent with other long-form VRs
 * (same header layout): bytes, text, unknown. */
export function sqVrSweep(s: Source): FuzzCase[] {
  const long = ["OB", "OW", "UN", "UT", "UC"];
  return complete(s.layout)
    .filter((e) => e.vr === "SQ" && isExplicitSpan(e) && e.depth <= 1)
    .flatMap((e) =>
      long.map((vr) => ({
        id: `v${e.offset}-${vr}`,
        source: s,
        kind: "vr" as const,
        mutation: `vr:SQ->${vr} ${tagText(e.tag)}@${e.offset}`,
        bytes: withDataset(s, (ds) => {
          ds.write(vr, e.offset + 4, "latin1");
          return ds;
        }),
        planted: [],
      })),
    );
}
