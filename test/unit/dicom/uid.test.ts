/** UID syntax (PS3.5 9.1) and the remapper's rule that an invalid UID is never kept. */
import { describe, expect, it } from "vitest";
import { isValidUid } from "../../../src/dicom/uid.js";
import { UidMapper } from "../../../src/engine/uid-map.js";

describe("isValidUid", () => {
  it("accepts digits and dots without leading zeros, up to 64 characters", () => {
    for (const uid of ["0", "1.2.840.10008.1.2.1", "2.25.0", "1.0.3", `1.${"9".repeat(62)}`])
      expect(isValidUid(uid), uid).toBe(true);
  });

  it("refuses anything else", () => {
    for (const uid of [
      "",
      "1.2.840.10008.9/../../../escaped/pwned1",
      "1..2",
      ".1.2",
      "1.2.",
      "1.02.3",
      "01.2",
      "1.2 ",
      "1.2\u0000",
      "ad111191-79e4-4892-9b91-2f84967a4b23",
      `1.${"9".repeat(63)}`,
      "..",
    ])
      expect(isValidUid(uid), JSON.stringify(uid)).toBe(false);
  });
});

describe("UidMapper", () => {
  const mapper = new UidMapper(Buffer.from("secret"));

  it("keeps valid standard UIDs and remaps an invalid one whatever its prefix", () => {
    expect(mapper.remap("1.2.840.10008.5.1.4.1.1.2")).toBe("1.2.840.10008.5.1.4.1.1.2");
    const mapped = mapper.remap("1.2.840.10008.9/../../../escaped/pwned1");
    expect(mapped).toMatch(/^2\.25\.\d+$/);
    expect(isValidUid(mapped)).toBe(true);
    expect(mapper.remap("1.2.840.10008.01")).toMatch(/^2\.25\.\d+$/);
  });
});
