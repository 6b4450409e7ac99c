/**
 * Sessions under a profile with a pixel step: the preview lists, per scanned instance, every box per
 * frame (frame, x, y, width, height, source), the same boxes the audit's cleanPixel entries give;
 * after apply the staged instance renders black inside them and as the original elsewhere.
 */
import { PNG } from "pngjs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { corpusFile } from "../helpers/corpus.js";
import { multipart, testApp, type TestApp } from "../helpers/app.js";

let t: TestApp;
beforeAll(async () => {
  t = await testApp();
});
afterAll(async () => t.app.close());

const FILES = [
  "us-burned-in-yes-philips-phi.dcm",
  "us-philips-palette-rle.dcm",
  "ct-explicit-le-ge-small.dcm",
];

async function session(): Promise<string> {
  const created = await t.app.inject({
    method: "POST",
    url: "/sessions",
    payload: multipart(FILES.map((f) => ({ type: "application/dicom", data: corpusFile(f) }))),
    headers: { "content-type": "multipart/related; type=application/dicom; boundary=test-boundary-1234" },
  });
  expect(created.statusCode).toBe(201);
  return `/sessions/${created.json().id}`;
}

/** Grey levels of a rendered PNG (the red channel: both files render grey in the bar). */
function grey(body: Buffer): { width: number; at: (x: number, y: number) => number } {
  const png = PNG.sync.read(body);
  return { width: png.width, at: (x, y) => png.data[(y * png.width + x) * 4]! };
}

describe("session preview under a pixel profile", { timeout: 60_000 }, () => {
  it("lists the boxes per instance and frame; hipaa's preview has no pixel part", async () => {
    const url = await session();
    const res = await t.app.inject({ url: `${url}/preview?profile=pixel` });
    expect(res.statusCode).toBe(200);
    const preview = res.json();
    // The CT is out of the pixel scope: not listed. The two Philips files get their template box
    // first, then the detector's boxes.
    const detector = expect.objectContaining({ frame: 1, source: "detector" });
    for (const instance of preview.pixel.instances) {
      expect(instance.boxes.length).toBeGreaterThan(1);
      expect(instance.boxes.slice(1)).toEqual(instance.boxes.slice(1).map(() => detector));
    }
    expect(preview.pixel).toEqual({
      instances: [
        {
          index: 0,
          sopInstanceUID: preview.instances[0].sopInstanceUID,
          boxes: [
            { frame: 1, x: 0, y: 0, width: 1024, height: 26, source: "template" },
            ...preview.pixel.instances[0].boxes.slice(1),
          ],
          usRegions: { regions: [{ x: 14, y: 38, width: 997, height: 721 }], clipped: 0, dropped: 0 },
        },
        {
          index: 1,
          sopInstanceUID: preview.instances[1].sopInstanceUID,
          boxes: [
            { frame: 1, x: 0, y: 0, width: 800, height: 62, source: "template" },
            ...preview.pixel.instances[1].boxes.slice(1),
          ],
          // The first region's Max X1 is 800 on an 800-wide frame: clipped, counted, not refused.
          usRegions: {
            regions: [
              { x: 120, y: 60, width: 680, height: 459 },
              { x: 176, y: 522, width: 568, height: 55 },
            ],
            clipped: 1,
            dropped: 0,
          },
        },
      ],
    });
    // The same boxes as the audit's text entries.
    for (const instance of preview.pixel.instances) {
      const texts = preview.instances[instance.index].changes
        .filter((c: { action: string }) => c.action === "cleanPixel")
        .map((c: { after: string }) => c.after);
      expect(texts).toEqual(
        instance.boxes.map(
          (b: Record<string, unknown>) =>
            `frame ${b.frame} x ${b.x} y ${b.y} width ${b.width} height ${b.height} source ${b.source}`,
        ),
      );
    }
    const hipaa = (await t.app.inject({ url: `${url}/preview?profile=hipaa` })).json();
    expect(hipaa).not.toHaveProperty("pixel");
    // pixel's detector ran in the service's detector pool, not in the engine workers.
    const pool = (await t.app.inject({ url: "/readyz" })).json().detector;
    expect(pool.running).toBeGreaterThan(0);
    expect(pool.queued).toBe(0);
  });

  it("a detector profile (POST preview) lists detector boxes for the Philips US file", async () => {
    const url = await session();
    const res = await t.app.inject({
      method: "POST",
      url: `${url}/preview`,
      payload: {
        name: "detect",
        description: "hipaa + detector",
        version: "1",
        extends: "hipaa",
        pixel: { detector: true },
        rules: [],
      },
    });
    expect(res.statusCode).toBe(200);
    const { pixel } = res.json();
    expect(pixel.instances.map((i: { index: number }) => i.index)).toEqual([0, 1]);
    const philips = pixel.instances[0].boxes;
    expect(philips.length).toBeGreaterThan(5);
    for (const b of philips) {
      expect(b).toEqual({
        frame: 1,
        x: expect.any(Number),
        y: expect.any(Number),
        width: expect.any(Number),
        height: expect.any(Number),
        source: "detector",
      });
      expect(b.x + b.width).toBeLessThanOrEqual(1024);
      expect(b.y + b.height).toBeLessThanOrEqual(768);
    }
    // The patient bar (y 6-19) is covered by some detector box.
    expect(philips.some((b: { y: number; height: number }) => b.y <= 6 && b.y + b.height >= 19)).toBe(true);
    // Text is searched inside the US region too (the probe and frequency labels lie in it).
    const [region] = pixel.instances[0].usRegions.regions;
    expect(region).toEqual({ x: 14, y: 38, width: 997, height: 721 });
    const inside = philips.filter(
      (b: { x: number; y: number; width: number; height: number }) =>
        b.x >= region.x &&
        b.y >= region.y &&
        b.x + b.width <= region.x + region.width &&
        b.y + b.height <= region.y + region.height,
    );
    expect(inside.length).toBeGreaterThan(0);
  });

  it("the staged instance renders black inside its boxes, as the original outside", async () => {
    const url = await session();
    type Box = { x: number; y: number; width: number; height: number };
    const boxes: Box[] = (await t.app.inject({ url: `${url}/preview?profile=pixel` })).json().pixel
      .instances[0].boxes;
    const inBox = (x: number, y: number) =>
      boxes.some((b) => x >= b.x && x < b.x + b.width && y >= b.y && y < b.y + b.height);
    const applied = await t.app.inject({ method: "POST", url: `${url}/apply?profile=pixel` });
    expect(applied.statusCode).toBe(200);
    const [original, staged] = await Promise.all(
      ["original", "staged"].map(async (v) => {
        const res = await t.app.inject({ url: `${url}/instances/0/rendered?version=${v}` });
        expect(res.statusCode).toBe(200);
        return grey(res.rawPayload);
      }),
    );
    let textInBar = 0;
    for (let y = 0; y < 26; y++)
      for (let x = 0; x < 1024; x++) {
        expect(staged!.at(x, y)).toBe(0);
        if (original!.at(x, y) > 0) textInBar++;
      }
    expect(textInBar).toBeGreaterThan(100);
    let outside = 0;
    for (let y = 26; y < 768; y += 7)
      for (let x = 0; x < 1024; x += 5) {
        if (inBox(x, y)) expect(staged!.at(x, y)).toBe(0);
        else {
          expect(staged!.at(x, y)).toBe(original!.at(x, y));
          outside++;
        }
      }
    expect(outside).toBeGreaterThan(10_000);
  });
});
