/**
 * Lookup tables through POST /anonymize (issue 13, linkage): a profile in PROFILES_DIR with a CSV
 * beside it; real corpus files; the engine workers load the profile (and read the CSV) themselves.
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { corpusFile } from "../helpers/corpus.js";
import { readWithDcmjs } from "../helpers/dicom.js";
import { multipart, splitMultipart, testApp, type TestApp } from "../helpers/app.js";

const CT = corpusFile("ct-implicit-le-ge.dcm");
const MR = corpusFile("mr-small-implicit-le.dcm");
const patientId = (file: Buffer) => String(readWithDcmjs(file).dict["00100020"]!.Value![0]).trim();

let t: TestApp;
let dir: string;
beforeAll(async () => {
  expect(patientId(CT)).not.toBe(patientId(MR));
  dir = fs.mkdtempSync(path.join(os.tmpdir(), "lookup-profiles-"));
  // The CT's patient is in the table; the MR's is not.
  fs.writeFileSync(
    path.join(dir, "subjects.csv"),
    `original,new\n"${patientId(CT)}",TRIAL-0001\nOTHER,TRIAL-0002\n`,
  );
  fs.writeFileSync(
    path.join(dir, "trial.json"),
    JSON.stringify({
      name: "trial",
      description: "hipaa with trial subject IDs",
      version: "1",
      extends: "hipaa",
      lookupTables: { subjects: { file: "subjects.csv" } },
      rules: [
        { keyword: "PatientID", action: "replace", value: "X", lookup: { table: "subjects" } },
        {
          keyword: "PatientName",
          action: "replace",
          value: "X",
          lookup: { table: "subjects", key: "PatientID" },
        },
      ],
    }),
  );
  t = await testApp({ PROFILES_DIR: dir });
});
afterAll(async () => {
  await t?.app.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

describe("POST /anonymize with a lookup-table profile", () => {
  it("a patient in the table gets the subject ID; one not in it fails with tag and table only", async () => {
    const body = multipart([
      { type: "application/dicom", data: CT },
      { type: "application/dicom", data: MR },
    ]);
    const res = await t.app.inject({
      method: "POST",
      url: "/anonymize?profile=trial",
      payload: body,
      headers: {
        "content-type": 'multipart/related; type="application/dicom"; boundary=test-boundary-1234',
        "content-length": String(body.length),
      },
    });
    expect(res.statusCode).toBe(202); // some failed
    const parts = splitMultipart(res.rawPayload, res.headers["content-type"] as string);
    const audit = JSON.parse(parts[0]!.data.toString());
    expect(audit.summary).toMatchObject({ total: 2, anonymized: 1, failed: 1 });
    const [ct, mr] = audit.instances;
    expect(ct.status).toBe("anonymized");
    const out = readWithDcmjs(parts[1]!.data).dict;
    expect(out["00100020"]?.Value?.[0]).toBe("TRIAL-0001");
    expect(out["00100010"]?.Value?.[0]).toMatchObject({ Alphabetic: "TRIAL-0001" });
    expect(mr.status).toBe("failed");
    expect(mr.reason).toMatch(/\(0010,00[12]0\): no entry in lookup table subjects/);
    const text = res.rawPayload.toString("latin1") + t.logs.join("");
    for (const original of [patientId(CT), patientId(MR)]) expect(text).not.toContain(original);
  });

  it("a custom profile sent with the request cannot name a file: 400 without the path", async () => {
    const profile = JSON.stringify({
      name: "c",
      description: "c",
      version: "1",
      extends: "hipaa",
      lookupTables: { secret: { file: "/etc/passwd" } },
      rules: [],
    });
    const body = multipart([
      { type: "application/json", data: Buffer.from(profile) },
      { type: "application/dicom", data: CT },
    ]);
    const res = await t.app.inject({
      method: "POST",
      url: "/anonymize",
      payload: body,
      headers: {
        "content-type": 'multipart/related; type="application/dicom"; boundary=test-boundary-1234',
        "content-length": String(body.length),
      },
    });
    expect(res.statusCode).toBe(400);
    expect(res.json().detail).toBe(
      "invalid custom profile: $.lookupTables.<table>.file: a profile sent with a request can only have inline rows, not files",
    );
    expect(res.body).not.toContain("passwd");
    expect(res.body).not.toContain("secret");
  });
});
