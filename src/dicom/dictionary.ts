/**
 * The data dictionary (PS3.6): tag -> VR and keyword, keyword -> tag. The data is dcmjs's, extracted
 * at development time into dictionary.json (scripts/generate-dictionary.ts; a test keeps it equal to
 * the installed dcmjs), so start-up does not load the dcmjs bundle. Repeating groups (50xx, 60xx)
 * are stored under their first group.
 */
import rows from "./dictionary.json" with { type: "json" };
import { groupOf, tagOf, elementOf, type Tag } from "./tag.js";
import { implicitVrFromDictionary } from "./vr.js";

interface DictionaryEntry {
  readonly tag: Tag;
  readonly vr: string;
  readonly keyword: string;
}

const byTag = new Map<Tag, DictionaryEntry>();
const byKeyword = new Map<string, DictionaryEntry>();

for (const [hex, vr, keyword] of rows as Array<[string, string, string]>) {
  const entry = { tag: parseInt(hex, 16) >>> 0, vr, keyword };
  byTag.set(entry.tag, entry);
  byKeyword.set(keyword, entry);
}

/** Repeating groups 5000-501E and 6000-601E share their entries with group 5000 / 6000 (PS3.5 7.6). */
function canonicalTag(tag: Tag): Tag {
  const group = groupOf(tag);
  if ((group & 0xff00) === 0x5000 || (group & 0xff00) === 0x6000) {
    if ((group & 1) === 0 && (group & 0xff) <= 0x1e) return tagOf(group & 0xff00, elementOf(tag));
  }
  return tag;
}

export function lookupTag(tag: Tag): DictionaryEntry | undefined {
  return byTag.get(tag) ?? byTag.get(canonicalTag(tag));
}

export function keywordOf(tag: Tag): string | undefined {
  return lookupTag(tag)?.keyword;
}

export function tagOfKeyword(keyword: string): Tag | undefined {
  return byKeyword.get(keyword)?.tag;
}

/** The VR an implicit-VR file implies for a tag; "UN" when the dictionary does not know it. */
export function implicitVrOf(tag: Tag): string {
  if ((tag & 0xffff) === 0) return "UL"; // group length
  return implicitVrFromDictionary(lookupTag(tag)?.vr);
}

/** Register extra entries (e.g. attributes newer than dcmjs's dictionary, from the PS3.15 table). */
export function addDictionaryEntry(tag: Tag, vr: string | null, keyword: string): void {
  if (byTag.has(tag) || byKeyword.has(keyword)) return;
  const entry = { tag, vr: vr ?? "UN", keyword };
  byTag.set(tag, entry);
  byKeyword.set(keyword, entry);
}

/** Every dictionary tag whose VR is one of `vrs` (dcmjs's pseudo VRs count as what they can be). */
export function tagsWithVr(vrs: ReadonlySet<string>): Tag[] {
  const out: Tag[] = [];
  for (const entry of byTag.values()) if (vrs.has(implicitVrFromDictionary(entry.vr))) out.push(entry.tag);
  return out;
}
