/** A data element tag as one unsigned 32-bit number: group in the high 16 bits, element in the low. */
export type Tag = number;

export const tagOf = (group: number, element: number): Tag => ((group << 16) | element) >>> 0;
export const groupOf = (tag: Tag): number => tag >>> 16;
export const elementOf = (tag: Tag): number => tag & 0xffff;

/** Item and delimiter tags (PS3.5 7.5). */
export const ITEM = 0xfffee000;
export const ITEM_DELIMITATION = 0xfffee00d;
export const SEQUENCE_DELIMITATION = 0xfffee0dd;

export const PIXEL_DATA = 0x7fe00010;
export const SPECIFIC_CHARACTER_SET = 0x00080005;

const hexCache = new Map<Tag, string>();

/** `00100010` — the audit's spelling: 8 upper-case hex digits. Cached: audit paths ask for it per element. */
export function tagHex(tag: Tag): string {
  let hex = hexCache.get(tag);
  if (hex === undefined) {
    hex = tag.toString(16).toUpperCase().padStart(8, "0");
    if (hexCache.size < 100_000) hexCache.set(tag, hex);
  }
  return hex;
}

/** `(0010,0010)` — the standard's spelling. */
export function tagParen(tag: Tag): string {
  const hex = tagHex(tag);
  return `(${hex.slice(0, 4)},${hex.slice(4)})`;
}

/** Accepts `(0010,0010)`, `(0010,0010)` in either case, `0010,0010` and `00100010`. */
export function parseTag(text: string): Tag | undefined {
  const m = /^\(?([0-9a-fA-F]{4}),?([0-9a-fA-F]{4})\)?$/.exec(text.trim());
  if (!m) return undefined;
  return tagOf(parseInt(m[1]!, 16), parseInt(m[2]!, 16));
}

/** Odd groups are private (PS3.5 7.8). Groups 0001-0007 and FFFF are not allowed at all; treat them as private too. */
export const isPrivateGroup = (group: number): boolean => (group & 1) === 1;

/** (gggg,0010-00FF) in a private group reserves a block: a Private Creator element. */
export const isPrivateCreator = (tag: Tag): boolean => {
  const element = elementOf(tag);
  return isPrivateGroup(groupOf(tag)) && element >= 0x0010 && element <= 0x00ff;
};

/** The Private Creator element that owns a private data element, e.g. (0029,1010) -> (0029,0010). */
export const privateCreatorTagOf = (tag: Tag): Tag => tagOf(groupOf(tag), elementOf(tag) >>> 8);

/** Tags the pipeline reads by name. */
export const SOP_CLASS_UID = 0x00080016;
export const SOP_INSTANCE_UID = 0x00080018;
export const MODALITY = 0x00080060;
export const PATIENT_ID = 0x00100020;
export const STUDY_INSTANCE_UID = 0x0020000d;
export const SERIES_INSTANCE_UID = 0x0020000e;
export const BURNED_IN_ANNOTATION = 0x00280301;
export const MEDIA_STORAGE_SOP_INSTANCE_UID = 0x00020003;
