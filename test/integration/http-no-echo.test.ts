/**
 * Error bodies never carry a value from the request (README): a marker is sent in every parameter,
 * path segment, header and custom-profile field the API reads, and no response (body or header)
 * and no log line may contain it.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { corpusFile } from "../helpers/corpus.js";
import { multipart, testApp, type TestApp } from "../helpers/app.js";

const TOKEN = "no-echo-token-0123456789";
let t: TestApp;
let session: string;
let study: string;
beforeAll(async () => {
  t = await testApp({ API_TOKENS: TOKEN });
  const created = await t.app.inject({
    method: "POST",
    url: "/sessions",
    headers: { "content-type": "application/dicom", authorization: `Bearer ${TOKEN}` },
    payload: MR,
  });
  expect(created.statusCode).toBe(201);
  session = created.json().id;
  const applied = await t.app.inject({
    method: "POST",
    url: `/sessions/${session}/apply?profile=hipaa`,
    headers: { authorization: `Bearer ${TOKEN}` },
  });
  expect(applied.statusCode).toBe(200);
  study = applied.json().instances?.[0]?.studyInstanceUID ?? "1.2.3";
});
afterAll(async () => t.app.close());

const MR = corpusFile("mr-small-implicit-le.dcm");
const mark = (n: number) => `zxq${n}mark`;
const RELATED = 'multipart/related; type="application/dicom"; boundary=test-boundary-1234';
const related = multipart([{ type: "application/dicom", data: MR }]);

interface Case {
  readonly marker: string;
  readonly method: "GET" | "POST" | "DELETE";
  readonly url: () => string;
  readonly headers?: Record<string, string>;
  readonly payload?: Buffer;
  readonly auth?: string;
}

/** A form with a custom profile (as a text field) and the instance. */
function withProfile(profile: string): Pick<Case, "headers" | "payload"> {
  return {
    headers: { "content-type": "multipart/form-data; boundary=test-boundary-1234" },
    payload: multipart([
      { type: "text/plain", data: Buffer.from(profile), name: "profile" },
      { type: "application/dicom", data: MR, name: "file", filename: "a.dcm" },
    ]),
  };
}
const base = { name: "p", description: "", version: "1", extends: "hipaa" };
const custom = (over: Record<string, unknown>) =>
  withProfile(JSON.stringify({ ...base, rules: [], ...over }));
const rule = (r: Record<string, unknown>) => custom({ rules: [r] });
const dicom = { headers: { "content-type": "application/dicom" }, payload: MR };

const cases: Case[] = [
  { marker: mark(1), method: "GET", url: () => `/profiles/${mark(1)}` },
  { marker: mark(2), method: "POST", url: () => `/anonymize?profile=${mark(2)}<script>`, ...dicom },
  {
    marker: mark(3),
    method: "POST",
    url: () => "/anonymize",
    headers: { "content-type": `application/${mark(3)}` },
    payload: MR,
  },
  {
    marker: mark(4),
    method: "POST",
    url: () => "/anonymize",
    headers: { "content-type": `multipart/related; type="application/${mark(4)}"; boundary=b` },
    payload: related,
  },
  {
    marker: mark(5),
    method: "POST",
    url: () => "/anonymize",
    headers: { "content-type": "application/dicom", accept: `application/${mark(5)}` },
    payload: MR,
  },
  {
    marker: mark(6),
    method: "POST",
    url: () => "/anonymize",
    headers: { "content-type": `multipart/related; type="application/dicom"; boundary=${mark(6)}` },
    payload: related,
  },
  { marker: mark(7), method: "POST", url: () => "/anonymize", ...custom({ name: `${mark(7)}<script>` }) },
  { marker: mark(8), method: "POST", url: () => "/anonymize", ...rule({ keyword: mark(8), action: "keep" }) },
  {
    marker: mark(9),
    method: "POST",
    url: () => "/anonymize",
    ...rule({ tag: "(0010,0010)", action: mark(9) }),
  },
  { marker: mark(10), method: "POST", url: () => "/anonymize", ...custom({ extends: mark(10) }) },
  { marker: mark(11), method: "POST", url: () => "/anonymize", ...rule({ tag: mark(11), action: "keep" }) },
  { marker: mark(12), method: "POST", url: () => "/anonymize", ...custom({ [mark(12)]: 1 }) },
  { marker: mark(13), method: "POST", url: () => "/anonymize", ...custom({ options: [mark(13)] }) },
  { marker: mark(14), method: "POST", url: () => "/anonymize", ...withProfile(`{"${mark(14)}`) },
  {
    marker: mark(15),
    method: "POST",
    url: () => "/anonymize",
    ...withProfile(JSON.stringify([{ id: mark(15), act: "keep" }])),
  },
  { marker: mark(16), method: "POST", url: () => "/anonymize", ...rule({ vr: [mark(16)], action: "keep" }) },
  {
    marker: mark(17),
    method: "POST",
    url: () => "/anonymize",
    ...rule({ tag: "(0010,0010)", keyword: mark(17), action: "keep" }),
  },
  {
    marker: mark(18),
    method: "POST",
    url: () => "/anonymize",
    ...custom({ defaults: { private: mark(18) } }),
  },
  {
    marker: mark(19),
    method: "POST",
    url: () => "/anonymize",
    ...rule({ privateCreator: mark(19), group: "0029", element: `${mark(19)}`, action: "keep" }),
  },
  {
    marker: mark(20),
    method: "POST",
    url: () => "/anonymize",
    ...rule({ pattern: `(${mark(20)})`, action: "keep" }),
  },
  {
    marker: mark(21),
    method: "POST",
    url: () => "/anonymize",
    ...rule({ keyword: "PatientName", action: "capAge", maxYears: mark(21) }),
  },
  { marker: mark(22), method: "GET", url: () => `/sessions/${mark(22)}` },
  { marker: mark(23), method: "GET", url: () => `/sessions/${session}/preview?profile=${mark(23)}` },
  { marker: mark(24), method: "POST", url: () => `/sessions/${session}/apply?profile=${mark(24)}` },
  { marker: "9876543210", method: "GET", url: () => `/sessions/${session}/instances/9876543210` },
  { marker: mark(25), method: "GET", url: () => `/sessions/${session}/instances/0?version=${mark(25)}` },
  { marker: mark(26), method: "POST", url: () => `/sessions/${session}/commit?destination=${mark(26)}` },
  {
    marker: mark(27),
    method: "POST",
    url: () => `/dicomweb/profiles/${mark(27)}/studies`,
    headers: { "content-type": RELATED },
    payload: related,
  },
  {
    marker: mark(28),
    method: "POST",
    url: () => `/dicomweb/studies/${mark(28)}`,
    headers: { "content-type": RELATED },
    payload: related,
  },
  { marker: mark(29), method: "GET", url: () => `/dicomweb/sessions/${mark(29)}/studies/${study}` },
  {
    marker: mark(30),
    method: "GET",
    url: () => `/dicomweb/sessions/${session}/studies/${study}/series/${mark(30)}`,
  },
  { marker: mark(31), method: "GET", url: () => "/profiles", auth: `Bearer ${mark(31)}` },
  { marker: mark(32), method: "POST", url: () => "/anonymize", ...dicom, auth: mark(32) },
  { marker: mark(33), method: "GET", url: () => `/profiles/${mark(33)}%ZZ` },
  { marker: mark(34), method: "GET", url: () => `/${mark(34)}` },
  {
    marker: mark(35),
    method: "POST",
    url: () => "/sessions",
    headers: { "content-type": `application/${mark(35)}` },
    payload: MR,
  },
  {
    marker: mark(36),
    method: "POST",
    url: () => "/dicomweb/studies",
    headers: { "content-type": `multipart/related; type="application/${mark(36)}"; boundary=b` },
    payload: related,
  },
  {
    marker: mark(37),
    method: "POST",
    url: () => "/dicomweb/studies",
    headers: { "content-type": RELATED, accept: `application/${mark(37)}` },
    payload: related,
  },
  {
    marker: mark(38),
    method: "GET",
    url: () => `/dicomweb/sessions/${session}/studies/${study}`,
    headers: { accept: `application/${mark(38)}` },
  },
  { marker: mark(39), method: "DELETE", url: () => `/sessions/${mark(39)}` },
  { marker: mark(40), method: "POST", url: () => `/anonymize?${mark(40)}=${mark(40)}&profile=`, ...dicom },
  {
    marker: mark(41),
    method: "GET",
    url: () => `/sessions/${session}/instances/0`,
    headers: { accept: `application/${mark(41)}` },
  },
  {
    marker: mark(42),
    method: "POST",
    url: () => "/anonymize",
    headers: { "content-type": "multipart/form-data; boundary=test-boundary-1234" },
    payload: multipart([
      {
        type: `application/${mark(42)}`,
        data: Buffer.from(mark(42)),
        name: mark(42),
        filename: `${mark(42)}.dcm`,
      },
    ]),
  },
];

describe("no request value in any response or log line", () => {
  it.each(cases.map((c) => [c.marker, c] as const))("%s", async (marker, c) => {
    const res = await t.app.inject({
      method: c.method,
      url: c.url(),
      headers: { authorization: c.auth ?? `Bearer ${TOKEN}`, ...c.headers },
      ...(c.payload ? { payload: c.payload } : {}),
    });
    expect(res.statusCode, res.body.slice(0, 300)).toBeLessThan(500);
    const seen = (text: string) => text.toLowerCase().includes(marker.toLowerCase());
    expect(seen(res.rawPayload.toString("latin1")), res.body.slice(0, 300)).toBe(false);
    expect(seen(JSON.stringify(res.headers))).toBe(false);
    expect(t.logs.filter(seen)).toEqual([]);
  });
});

describe("the problems still name what is wrong", () => {
  it.each([
    [
      custom({ [mark(12)]: 1 }),
      "invalid custom profile: $ has a field that is not part of the profile format",
    ],
    [
      rule({ keyword: mark(8), action: "keep" }),
      "invalid custom profile: $.rules[0].keyword: unknown keyword",
    ],
    [rule({ vr: [mark(16)], action: "keep" }), "invalid custom profile: $.rules[0].vr[0]: not a value VR"],
    [custom({ name: 7 }), "invalid custom profile: $.name: must be a string"],
    [
      rule({ tag: "(0010,0010)", action: mark(9) }),
      expect.stringMatching(
        /^invalid custom profile: \$\.rules\[0\]\.action: unknown action; expected one of keep, /,
      ),
    ],
  ])("%#", async (form, detail) => {
    const res = await t.app.inject({
      method: "POST",
      url: "/anonymize",
      headers: { authorization: `Bearer ${TOKEN}`, ...form.headers },
      payload: form.payload,
    });
    expect(res.statusCode).toBe(400);
    expect(res.json().detail).toEqual(detail);
  });
});
