/**
 * Keyed, deterministic UID remapping: `2.25.` + the decimal of the first 128 bits of
 * HMAC-SHA256(secret, original). The same original maps to the same new UID in every instance, every
 * request and every replica that shares the secret, so references between instances survive; without
 * the secret the mapping cannot be reversed or recomputed (45 CFR 164.514(c)).
 */
import crypto from "node:crypto";
import { isValidUid } from "../dicom/uid.js";

/**
 * UIDs defined by the standard (SOP classes, transfer syntaxes, coding schemes...) are not remapped,
 * as long as they are valid UIDs: an invalid value is remapped whatever its prefix, so a value such
 * as `1.2.840.10008.9/../x` is never kept (it could name a file outside the output directory).
 */
export const STANDARD_UID_ROOT = "1.2.840.10008.";

export class UidMapper {
  private readonly cache = new Map<string, string>();

  constructor(
    private readonly secret: Buffer,
    private readonly maxCacheEntries = 100_000,
  ) {}

  remap(uid: string): string {
    if (uid === "" || (uid.startsWith(STANDARD_UID_ROOT) && isValidUid(uid))) return uid;
    let mapped = this.cache.get(uid);
    if (mapped === undefined) {
      const digest = crypto.createHmac("sha256", this.secret).update(uid, "latin1").digest();
      mapped = `2.25.${BigInt(`0x${digest.subarray(0, 16).toString("hex")}`).toString()}`;
      if (this.cache.size >= this.maxCacheEntries) this.cache.clear();
      this.cache.set(uid, mapped);
    }
    return mapped;
  }

  /** A short keyed hash for pseudonyms and date shifts (a different domain than UIDs). */
  keyedHash(domain: string, value: string): Buffer {
    return crypto.createHmac("sha256", this.secret).update(`${domain}\u0000${value}`, "utf8").digest();
  }
}
