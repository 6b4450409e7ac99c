/**
 * Records how the instance was de-identified (PS3.15 E.1.1 and PS3.3 C.7.1.1): Patient Identity
 * Removed, De-identification Method, the CID 7050 code sequence, and Longitudinal Temporal
 * Information Modified. These replace whatever the input said.
 */
import type { DataElement } from "../dicom/element.js";
import { tagOf, type Tag } from "../dicom/tag.js";
import { encodeValue } from "../dicom/values.js";
import type { Plan } from "./plan.js";

export const PATIENT_IDENTITY_REMOVED = tagOf(0x0012, 0x0062);
export const DEIDENTIFICATION_METHOD = tagOf(0x0012, 0x0063);
export const DEIDENTIFICATION_METHOD_CODE_SEQUENCE = tagOf(0x0012, 0x0064);
export const LONGITUDINAL_TEMPORAL_INFORMATION_MODIFIED = tagOf(0x0028, 0x0303);

export const METHOD_TAGS: ReadonlySet<Tag> = new Set([
  PATIENT_IDENTITY_REMOVED,
  DEIDENTIFICATION_METHOD,
  DEIDENTIFICATION_METHOD_CODE_SEQUENCE,
  LONGITUDINAL_TEMPORAL_INFORMATION_MODIFIED,
]);

function leaf(tag: Tag, vr: string, text: string): DataElement {
  return { tag, vr, value: encodeValue(text, vr), undefinedLength: false };
}

/** The elements to add, in tag order; computed once per plan. */
export function methodElements(plan: Plan): DataElement[] {
  const method =
    `dicomweb-anonymizer ${plan.name} ${plan.version}${plan.edition ? ` PS3.15 ${plan.edition}` : ""}`.slice(
      0,
      64,
    );
  const items = plan.methodCodes.map((m) => ({
    undefinedLength: false,
    elements: [
      leaf(tagOf(0x0008, 0x0100), "SH", m.code),
      leaf(tagOf(0x0008, 0x0102), "SH", "DCM"),
      leaf(tagOf(0x0008, 0x0104), "LO", m.meaning.slice(0, 64)),
    ],
  }));
  const out = [leaf(PATIENT_IDENTITY_REMOVED, "CS", "YES"), leaf(DEIDENTIFICATION_METHOD, "LO", method)];
  if (items.length > 0)
    out.push({ tag: DEIDENTIFICATION_METHOD_CODE_SEQUENCE, vr: "SQ", items, undefinedLength: false });
  out.push(leaf(LONGITUDINAL_TEMPORAL_INFORMATION_MODIFIED, "CS", plan.longitudinal));
  return out;
}

const CLEAN_PIXEL_DATA = { code: "113101", meaning: "Clean Pixel Data Option" } as const;
const plainCache = new WeakMap<Plan, DataElement[]>();
const pixelCache = new WeakMap<Plan, DataElement[]>();

/**
 * methodElements, built once per plan (and once more for instances whose pixel data the Clean Pixel
 * Data step cleaned: they also carry 113101).
 */
export function cachedMethodElements(plan: Plan, cleanPixel = false): DataElement[] {
  const cache = cleanPixel ? pixelCache : plainCache;
  let method = cache.get(plan);
  if (!method) {
    method = methodElements(
      cleanPixel && !plan.methodCodes.some((m) => m.code === CLEAN_PIXEL_DATA.code)
        ? { ...plan, methodCodes: [...plan.methodCodes, CLEAN_PIXEL_DATA] }
        : plan,
    );
    cache.set(plan, method);
  }
  return method;
}

/** Merges `added` into a sorted dataset, replacing elements with the same tag. */
export function mergeElements(dataset: readonly DataElement[], added: readonly DataElement[]): DataElement[] {
  const replaced = new Set(added.map((e) => e.tag));
  const out = dataset.filter((e) => !replaced.has(e.tag));
  out.push(...added);
  return out.sort((a, b) => a.tag - b.tag);
}
