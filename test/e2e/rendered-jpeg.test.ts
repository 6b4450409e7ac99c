/**
 * GET .../rendered with Accept: image/jpeg, decoded independently of the encoder (jpeg-js) by
 * chromium's own JPEG decoder (libjpeg-turbo), and compared with the PNG rendering of the same frame
 * (read by pngjs): same size, pixels within JPEG's loss. Grey (MR) and colour (US RGB) frames.
 */
import type { Browser, Page } from "playwright-core";
import { PNG } from "pngjs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { haveChromium, launchChromium } from "../helpers/browser.js";
import { corpusFile } from "../helpers/corpus.js";
import { startService, type ServiceProcess } from "../helpers/service.js";

const HAVE_CHROMIUM = haveChromium();

/** RGBA pixels of a JPEG as chromium decodes it. */
async function decodeInChromium(page: Page, jpeg: Buffer) {
  return page.evaluate(async (b64: string) => {
    const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
    const bitmap = await createImageBitmap(new Blob([bytes], { type: "image/jpeg" }));
    const canvas = new OffscreenCanvas(bitmap.width, bitmap.height);
    const g = canvas.getContext("2d")!;
    g.drawImage(bitmap, 0, 0);
    const data = g.getImageData(0, 0, bitmap.width, bitmap.height).data;
    return { width: bitmap.width, height: bitmap.height, data: Array.from(data) };
  }, jpeg.toString("base64"));
}

describe.skipIf(!HAVE_CHROMIUM)("rendered as image/jpeg", () => {
  let service: ServiceProcess;
  let browser: Browser;
  let page: Page;
  beforeAll(async () => {
    [service, browser] = await Promise.all([startService({}), launchChromium()]);
    page = await browser.newPage();
    await page.goto(service.base);
  });
  afterAll(async () => {
    await browser?.close();
    service?.child.kill("SIGTERM");
  });

  for (const file of ["mr-small-implicit-le.dcm", "us-rgb-explicit-be.dcm"]) {
    it(`${file}: a JPEG that chromium decodes to the PNG's pixels, within JPEG loss`, async () => {
      const form = new FormData();
      form.append("file", new Blob([new Uint8Array(corpusFile(file))], { type: "application/dicom" }), file);
      const created = await fetch(`${service.base}/sessions`, { method: "POST", body: form });
      expect(created.status).toBe(201);
      const { id } = (await created.json()) as { id: string };
      const url = `${service.base}/sessions/${id}/instances/0/rendered`;

      const jpegRes = await fetch(url, { headers: { accept: "image/jpeg" } });
      expect(jpegRes.status).toBe(200);
      expect(jpegRes.headers.get("content-type")).toBe("image/jpeg");
      const jpeg = Buffer.from(await jpegRes.arrayBuffer());
      expect(jpeg.subarray(0, 2)).toEqual(Buffer.from([0xff, 0xd8])); // SOI
      expect(jpeg.subarray(-2)).toEqual(Buffer.from([0xff, 0xd9])); // EOI
      const pngRes = await fetch(url, { headers: { accept: "image/png" } });
      expect(pngRes.headers.get("content-type")).toBe("image/png");
      const png = PNG.sync.read(Buffer.from(await pngRes.arrayBuffer()));

      const decoded = await decodeInChromium(page, jpeg);
      expect([decoded.width, decoded.height]).toEqual([png.width, png.height]);
      let sum = 0;
      let n = 0;
      let min = 255;
      let max = 0;
      for (let i = 0; i < decoded.data.length; i += 4)
        for (let c = 0; c < 3; c++) {
          sum += Math.abs(decoded.data[i + c]! - png.data[i + c]!);
          n++;
          min = Math.min(min, decoded.data[i + c]!);
          max = Math.max(max, decoded.data[i + c]!);
        }
      const meanError = sum / n;
      console.log(
        `${file}: ${png.width}x${png.height}, JPEG ${jpeg.length} bytes, mean error ${meanError.toFixed(2)}`,
      );
      expect(max - min, "blank image").toBeGreaterThan(50);
      expect(meanError).toBeLessThan(4);
    });
  }
});
