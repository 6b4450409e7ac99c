import type { Tag } from "./tag.js";

/**
 * One data element as read from the input. Leaf values are views into the input buffer (never
 * copied); the writer emits them byte for byte.
 */
export interface DataElement {
  readonly tag: Tag;
  /** The VR as written (explicit) or from the dictionary (implicit); "UN" when unknown. */
  readonly vr: string;
  /** Raw value bytes of a leaf element. */
  readonly value?: Uint8Array;
  /** Items of a sequence (SQ, or a UN/other VR that holds a sequence). */
  readonly items?: readonly Item[];
  /** Encapsulated Pixel Data: the raw item fragments and the sequence delimiter, passed through. */
  readonly fragments?: Uint8Array;
  /** The sequence (or encapsulated pixel data) used undefined length. Kept on output. */
  readonly undefinedLength: boolean;
  /**
   * The sequence's items are encoded Implicit VR Little Endian whatever the transfer syntax (a UN
   * element holding a sequence, PS3.5 6.2.2). Written back the same way.
   */
  readonly implicitItems?: boolean;
}

export interface Item {
  readonly elements: readonly DataElement[];
  readonly undefinedLength: boolean;
}

export type Dataset = readonly DataElement[];
