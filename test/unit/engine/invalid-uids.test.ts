/** UIDs that break PS3.5 9.1 never reach an output name or URL: remapped, or (kept) the instance refused. */
import { describe, expect, it } from "vitest";
import { isValidUid } from "../../../src/dicom/uid.js";
import { readWithDcmjs, writeWithDcmjs } from "../../helpers/dicom.js";
import { anonymize, anonymized, REGISTRY } from "../../helpers/engine.js";

const keepUids = REGISTRY.compileCustom(
  { name: "keep-uids", description: "", version: "1", extends: "basic", options: ["retainUIDs"], rules: [] },
  "test",
);

function instance(uids: { sop?: string; study?: string; series?: string }): Buffer {
  return writeWithDcmjs({
    "00080018": { vr: "UI", Value: [uids.sop ?? "1.2.3.4.5"] },
    "0020000D": { vr: "UI", Value: [uids.study ?? "1.2.3.4"] },
    "0020000E": { vr: "UI", Value: [uids.series ?? "1.2.3.4.1"] },
    "00100010": { vr: "PN", Value: [{ Alphabetic: "Doe^Jane" }] },
  });
}

describe("invalid UIDs", () => {
  it.each([
    ["sop", "1.2.840.10008.9/../../../escaped/pwned1"],
    ["study", "1.2.840.10008.5/../x?y#z"],
    ["series", "1.02.3"],
  ] as const)("%s %s is remapped by basic and hipaa to a valid UID", (which, uid) => {
    for (const profile of ["basic", "hipaa"]) {
      const out = anonymized(instance({ [which]: uid }), profile);
      const dict = readWithDcmjs(out.output).dict;
      for (const tag of ["00080018", "0020000D", "0020000E"])
        expect(isValidUid(String(dict[tag]?.Value?.[0])), `${profile} ${tag}`).toBe(true);
    }
  });

  it.each([
    ["sop", "1.2.3/../../escaped/pwned2", /SOP Instance UID \(0008,0018\)/],
    ["study", "1.2.3/../x", /Study Instance UID \(0020,000D\)/],
    ["series", "1.2.03", /Series Instance UID \(0020,000E\)/],
  ] as const)("%s %s kept by retainUIDs refuses the instance", (which, uid, reason) => {
    const outcome = anonymize(instance({ [which]: uid }), keepUids);
    expect(outcome).toMatchObject({
      status: "failed",
      code: "INVALID_UID",
      reason: expect.stringMatching(reason),
    });
    if (outcome.status === "failed") expect(outcome.reason).not.toContain(uid);
  });

  it("valid UIDs are kept by retainUIDs", () => {
    const out = anonymized(instance({}), keepUids);
    expect(out.sopInstanceUID).toBe("1.2.3.4.5");
    expect(out.studyInstanceUID).toBe("1.2.3.4");
  });
});
