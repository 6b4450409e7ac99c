/**
 * Verification before release (fail closed): the output is re-read from its bytes, and
 *   1. it parses, and its File Meta names the new SOP Instance UID;
 *   2. no element that the plan removes is present, at any depth;
 *   3. no original value of an element the plan changed appears in any value the output carries
 *      over from the input (kept or cleaned values; values the profile generated are its own).
 * Messages name tags and paths, never values.
 */
import type { ByteSource } from "../dicom/bytes.js";
import type { DataElement } from "../dicom/element.js";
import { readPart10 } from "../dicom/part10.js";
import {
  elementOf,
  isPrivateCreator,
  MEDIA_STORAGE_SOP_INSTANCE_UID,
  SOP_INSTANCE_UID,
  tagHex,
  tagParen,
} from "../dicom/tag.js";
import { asciiValue } from "../dicom/values.js";
import { STRING_VRS } from "../dicom/vr.js";
import { VerificationError } from "../errors.js";
import { creatorsIn, ruleForElement, type ChangedOriginal } from "./apply.js";
import { METHOD_TAGS } from "./deidentification-method.js";
import type { Plan } from "./plan.js";

/**
 * Which original values are searched for. Clinical words legitimately recur (a procedure description
 * is also a code meaning; a manufacturer is part of a station name), and dates coincide, so the
 * search targets what identifies: person names, remapped UIDs, and ID-like tokens (no spaces, at
 * least one digit, five or more characters: MRNs, accession numbers, SSNs, serial numbers). Free text
 * and dates are covered by their rules and by the independent leak check in the tests.
 */
const MIN_NEEDLE = 4;
const ID_LIKE = /^(?=.*\d)\S{5,}$/;
/** Decimal numbers (measurements, versions) are not identifiers, whatever element holds them. */
const DECIMAL = /^[+-]?\d*\.\d+([eE][+-]?\d+)?$/;
const NUMERIC_VRS = new Set(["AS", "DS", "IS"]);

export interface VerifyInput {
  readonly output: ByteSource;
  readonly plan: Plan;
  readonly originals: readonly ChangedOriginal[];
  readonly generatedPaths: ReadonlySet<string>;
}

export function verifyOutput({ output, plan, originals, generatedPaths }: VerifyInput): void {
  let parsed;
  try {
    // Strict: the output must be a conformant encoding (checkEncoding) that needs no repair.
    parsed = readPart10(output, { strict: true, maxInflateRatio: Infinity });
  } catch (error) {
    throw new VerificationError(`output does not parse: ${(error as Error).message}`);
  }
  const sop = asciiValue(parsed.dataset.find((e) => e.tag === SOP_INSTANCE_UID)?.value);
  const media = asciiValue(parsed.meta.find((e) => e.tag === MEDIA_STORAGE_SOP_INSTANCE_UID)?.value);
  if (!sop || sop !== media)
    throw new VerificationError("File Meta does not name the output's SOP Instance UID");

  const carried: string[] = [];
  checkElements(parsed.dataset, plan, "", true, generatedPaths, carried);
  const haystack = carried.join("\n");
  for (const original of originals) {
    for (const needle of needlesOf(original)) {
      if (occurs(haystack, needle)) {
        throw new VerificationError(
          `an original value of ${tagParen(original.tag)} is still present in the output`,
        );
      }
    }
  }
}

function checkElements(
  elements: readonly DataElement[],
  plan: Plan,
  prefix: string,
  topLevel: boolean,
  generatedPaths: ReadonlySet<string>,
  carried: string[],
): void {
  const creators = creatorsIn(elements);
  for (const e of elements) {
    const path = prefix + tagHex(e.tag);
    if (topLevel && METHOD_TAGS.has(e.tag)) continue;
    if (elementOf(e.tag) === 0) throw new VerificationError(`group length ${tagParen(e.tag)} is present`);
    if (isPrivateCreator(e.tag)) continue;
    const rule = ruleForElement(plan, e.tag, creators, e.vr);
    if (rule.action === "remove")
      throw new VerificationError(`${path} is present although the profile removes it`);
    if (e.items) {
      e.items.forEach((item, i) =>
        checkElements(item.elements, plan, `${path}[${i}].`, false, generatedPaths, carried),
      );
    } else if (
      e.value &&
      e.value.length > 0 &&
      !generatedPaths.has(path) &&
      (STRING_VRS.has(e.vr) || e.vr === "UN")
    ) {
      carried.push(Buffer.from(e.value.buffer, e.value.byteOffset, e.value.length).toString("latin1"));
    }
  }
}

/** The identifying values in an original, as latin1 (byte-exact) strings. */
function needlesOf(original: ChangedOriginal): string[] {
  const vr = original.vr;
  if (
    vr === "DA" ||
    vr === "DT" ||
    vr === "TM" ||
    NUMERIC_VRS.has(vr) ||
    !(STRING_VRS.has(vr) || vr === "UN")
  )
    return [];
  const raw = Buffer.from(original.value.buffer, original.value.byteOffset, original.value.length).toString(
    "latin1",
  );
  const values = vr === "LT" || vr === "ST" || vr === "UT" ? [raw] : raw.split("\\");
  const needles: string[] = [];
  for (const v of values) {
    const trimmed = v.replace(/^[ ]+|[ \0]+$/g, "");
    if (trimmed.length < MIN_NEEDLE) continue;
    if (vr === "PN" || vr === "UI" || (ID_LIKE.test(trimmed) && !DECIMAL.test(trimmed)))
      needles.push(trimmed);
  }
  return needles;
}

/** Digit-and-dot needles (UIDs, dates, numeric IDs) must not match inside a longer number. */
function occurs(haystack: string, needle: string): boolean {
  const numeric = /^[\d.]+$/.test(needle);
  let from = 0;
  for (;;) {
    const at = haystack.indexOf(needle, from);
    if (at < 0) return false;
    if (!numeric) return true;
    const before = haystack[at - 1];
    const after = haystack[at + needle.length];
    if (!(before && /[\d.]/.test(before)) && !(after && /[\d.]/.test(after))) return true;
    from = at + 1;
  }
}
