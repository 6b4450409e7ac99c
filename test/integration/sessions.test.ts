/**
 * The seed's story, walked through /sessions against both stores (in-memory and a real Redis):
 * upload, preview basic vs hipaa, apply hipaa, check the staged header, revert, apply again, commit.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { corpusFile } from "../helpers/corpus.js";
import { readWithDcmjs } from "../helpers/dicom.js";
import { multipart, splitMultipart, testApp, type TestApp } from "../helpers/app.js";
import { redisAvailable, startRedis, type RedisServer } from "../helpers/redis.js";
import { seedStoryInstance } from "../helpers/seed.js";
import { requireTool } from "../helpers/tools.js";

const HAVE_REDIS = requireTool("redis-server", "redis-server") && redisAvailable();
let redis: RedisServer | undefined;
beforeAll(async () => {
  if (HAVE_REDIS) redis = await startRedis();
}, 60_000);
afterAll(async () => redis?.stop());

const header = (json: Array<Record<string, { Value?: unknown[] }>>, tag: string) => json[0]![tag]?.Value?.[0];

for (const store of ["memory", "redis"] as const) {
  describe.runIf(store === "memory" || HAVE_REDIS)(`sessions on the ${store} store`, () => {
    let t: TestApp;
    beforeAll(async () => {
      t = await testApp(store === "redis" ? { SESSION_STORE: redis!.url } : {});
    });
    afterAll(async () => t.app.close());

    it("walks the seed's story", async () => {
      const input = seedStoryInstance();
      const created = await t.app.inject({
        method: "POST",
        url: "/sessions",
        payload: input,
        headers: { "content-type": "application/dicom" },
      });
      expect(created.statusCode).toBe(201);
      const session = created.json();
      expect(created.headers.location).toBe(`/sessions/${session.id}`);
      expect(session.id).toMatch(/^[A-Za-z0-9_-]{24,}$/);
      expect(session).toMatchObject({
        state: "open",
        instances: [{ index: 0, modality: "MR", bytes: input.length }],
      });
      const url = `/sessions/${session.id}`;

      // Preview under two profiles: different rule counts and changes; nothing staged.
      const basic = (await t.app.inject({ url: `${url}/preview?profile=basic` })).json();
      const hipaa = (await t.app.inject({ url: `${url}/preview?profile=hipaa` })).json();
      expect(basic.profile.rules).not.toBe(hipaa.profile.rules);
      const ageChange = (p: {
        instances: Array<{
          changes: Array<{ keyword: string; before: string; after: string | null; action: string }>;
        }>;
      }) => p.instances[0]!.changes.find((c) => c.keyword === "PatientAge");
      expect(ageChange(hipaa)).toMatchObject({ before: "093Y", after: "089Y", action: "capAge" });
      expect(ageChange(basic)).toMatchObject({ before: "093Y", after: null, action: "remove" });
      expect(hipaa.changesByAction).not.toEqual(basic.changesByAction);
      expect((await t.app.inject({ url })).json().state).toBe("open");
      expect((await t.app.inject({ method: "POST", url: `${url}/commit` })).statusCode).toBe(409);

      // Apply hipaa: the staged header shows 089Y, no serial, no address, clinical values unchanged.
      const applied = await t.app.inject({ method: "POST", url: `${url}/apply?profile=hipaa` });
      expect(applied.statusCode).toBe(200);
      expect(applied.json().session).toMatchObject({ state: "applied", profile: { name: "hipaa" } });
      const staged = (
        await t.app.inject({
          url: `${url}/instances/0?version=staged`,
          headers: { accept: "application/dicom+json" },
        })
      ).json();
      const original = (
        await t.app.inject({
          url: `${url}/instances/0?version=original`,
          headers: { accept: "application/dicom+json" },
        })
      ).json();
      expect(header(staged, "00101010")).toBe("089Y");
      expect(staged[0]["00181000"]).toBeUndefined();
      expect(staged[0]["00080081"]).toBeUndefined();
      expect(header(original, "00181000")).toBeDefined();
      for (const tag of [
        "00080060",
        "00280010",
        "00280011",
        "00280030",
        "00281050",
        "00281051",
        "00200037",
        "00200032",
        "00180050",
      ]) {
        expect(staged[0][tag], tag).toEqual(original[0][tag]);
      }

      // Revert restores the original state; apply again; commit returns the scrubbed instance.
      const reverted = await t.app.inject({ method: "POST", url: `${url}/revert` });
      expect(reverted.json()).toMatchObject({ state: "open", profile: null });
      expect((await t.app.inject({ url: `${url}/instances/0?version=staged` })).statusCode).toBe(404);
      const originalBytes = await t.app.inject({ url: `${url}/instances/0` });
      expect(originalBytes.rawPayload.equals(input)).toBe(true);
      expect((await t.app.inject({ method: "POST", url: `${url}/apply?profile=hipaa` })).statusCode).toBe(
        200,
      );

      const committed = await t.app.inject({ method: "POST", url: `${url}/commit` });
      expect(committed.statusCode).toBe(200);
      const parts = splitMultipart(committed.rawPayload, committed.headers["content-type"] as string);
      const audit = JSON.parse(parts[0]!.data.toString());
      expect(JSON.stringify(audit)).not.toContain('"before"');
      const out = readWithDcmjs(parts[1]!.data).dict;
      expect(out["00101010"]?.Value?.[0]).toBe("089Y");
      expect(out["00181000"]).toBeUndefined();
      expect(out["00080081"]).toBeUndefined();

      // Committed: originals gone, state committed, listing names the new UIDs.
      const after = (await t.app.inject({ url })).json();
      expect(after.state).toBe("committed");
      expect(after.instances[0].sopInstanceUID).toBe(audit.instances[0].sopInstanceUID);
      expect((await t.app.inject({ url: `${url}/instances/0?version=original` })).statusCode).toBe(404);
      expect((await t.app.inject({ method: "POST", url: `${url}/apply?profile=basic` })).statusCode).toBe(
        409,
      );

      expect((await t.app.inject({ method: "DELETE", url })).statusCode).toBe(204);
      expect((await t.app.inject({ url })).statusCode).toBe(404);
    });

    it("adds instances, lists rejects, and adding drops a staged result", async () => {
      const body = multipart([
        { type: "application/dicom", data: corpusFile("mr-small-implicit-le.dcm") },
        { type: "application/dicom", data: corpusFile("charset-empty-implicit.dcm") },
      ]);
      const headers = {
        "content-type": 'multipart/related; type="application/dicom"; boundary=test-boundary-1234',
      };
      const created = (
        await t.app.inject({ method: "POST", url: "/sessions", payload: body, headers })
      ).json();
      expect(created.instances).toHaveLength(1);
      expect(created.rejected).toEqual([{ index: 1, reason: expect.stringMatching(/no SOP Class UID/) }]);
      const url = `/sessions/${created.id}`;
      await t.app.inject({ method: "POST", url: `${url}/apply?profile=basic` });
      const added = await t.app.inject({
        method: "POST",
        url: `${url}/instances`,
        payload: corpusFile("ct-implicit-le-ge.dcm"),
        headers: { "content-type": "application/dicom" },
      });
      expect(added.statusCode).toBe(200);
      expect(added.json()).toMatchObject({
        state: "open",
        instances: [{ index: 0 }, { index: 1, modality: "CT" }],
      });
      const none = await t.app.inject({
        method: "POST",
        url: "/sessions",
        payload: Buffer.from("not dicom at all"),
        headers: { "content-type": "application/dicom" },
      });
      expect(none.statusCode).toBe(422);
      await t.app.inject({ method: "DELETE", url });
    });
  });
}
