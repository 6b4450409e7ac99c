/**
 * Verification before release (fail closed): the output is re-read from its bytes, and
 *   1. it parses, and its File Meta names the new SOP Instance UID;
 *   2. no element that the plan removes is present, at any depth;
 *   3. no identifying original value (identifiers.ts: names, IDs, dates, addresses, device and
 *      institution identifiers, instance UIDs) of an element the plan changed appears in a text value
 *      the output carries over from the input (kept or cleaned values; values the profile generated
 *      are its own). Coded vocabulary and numbers are not searched: they coincide, they do not leak.
 * The engine has already cleaned kept text that held such a value (apply.ts); what is found here
 * could not be cleaned, and the instance is refused. Messages name tags and paths, never values.
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
import { findSurvivor, identifyingNeedles, vocabularyOf, type Carried } from "./identifiers.js";
import type { Plan } from "./plan.js";

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

  const carried: Carried[] = [];
  checkElements(parsed.dataset, plan, "", true, generatedPaths, carried);
  const leak = findSurvivor(carried, identifyingNeedles(originals, vocabularyOf(parsed.dataset)));
  if (leak) {
    throw new VerificationError(
      `an identifying value of ${tagParen(leak.needle.tag)} is still present in ${leak.path}`,
    );
  }
}

function checkElements(
  elements: readonly DataElement[],
  plan: Plan,
  prefix: string,
  topLevel: boolean,
  generatedPaths: ReadonlySet<string>,
  carried: Carried[],
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
      const text = Buffer.from(e.value.buffer, e.value.byteOffset, e.value.length).toString("latin1");
      carried.push({ tag: e.tag, vr: e.vr, path, text });
    }
  }
}
