/**
 * The review page under the `pixel` profile, in chromium against the real service: the redaction
 * boxes of the preview (the audit's cleanPixel entries) are drawn over the original, where the audit
 * says; after apply, the staged rendered PNG is black inside every box.
 */
import type { Browser } from "playwright-core";
import { PNG } from "pngjs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { haveChromium, launchChromium } from "../helpers/browser.js";
import { corpusFile } from "../helpers/corpus.js";
import { startService, type ServiceProcess } from "../helpers/service.js";

const HAVE_CHROMIUM = haveChromium();
const FILE = "us-burned-in-yes-philips-phi.dcm";

interface Box {
  frame: number;
  x: number;
  y: number;
  width: number;
  height: number;
}

describe.skipIf(!HAVE_CHROMIUM)("pixel profile boxes on the review page", () => {
  let service: ServiceProcess;
  let browser: Browser;
  beforeAll(async () => {
    [service, browser] = await Promise.all([startService({}), launchChromium()]);
  });
  afterAll(async () => {
    await browser?.close();
    service?.child.kill("SIGTERM");
  });

  it("preview pixel draws the audit's boxes on the original; the staged image is black there", async () => {
    const page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
    await page.goto(service.base);
    await page
      .getByLabel("pick files")
      .setInputFiles([{ name: "us.dcm", mimeType: "application/dicom", buffer: corpusFile(FILE) }]);
    await expect.poll(() => page.getByTestId("state").textContent()).toBe("open");
    const id = await page.getByTestId("session-id").getAttribute("title");
    // The profile list comes from GET /profiles and offers pixel.
    await page.locator("#left-select option[value=pixel]").waitFor({ state: "attached" });

    // The preview as the page gets it, read by the test from the service too.
    const previewAnswer = page.waitForResponse((r) => r.url().includes("/preview?profile=pixel"));
    await page.locator("#left-select").selectOption("pixel");
    await page.getByRole("button", { name: "Preview", exact: true }).click();
    const audit = (await (await previewAnswer).json()) as {
      instances: Array<{ status: string; changes: Array<{ action: string; after: string }> }>;
    };
    expect(audit.instances[0]!.status).toBe("anonymized");
    const boxes: Box[] = audit.instances[0]!.changes.filter((c) => c.action === "cleanPixel").map((c) => {
      const m = /^frame (\d+) x (\d+) y (\d+) width (\d+) height (\d+)/.exec(c.after)!;
      return { frame: +m[1]!, x: +m[2]!, y: +m[3]!, width: +m[4]!, height: +m[5]! };
    });
    expect(boxes.length).toBeGreaterThan(0);

    // One overlay per box, placed over the original where the audit says (scaled to the shown size).
    const overlays = page.locator("[data-testid=redaction-box]");
    await expect.poll(() => overlays.count()).toBe(boxes.length);
    const img = page.getByTestId("image-original");
    const geometry = await img.evaluate((el: HTMLImageElement) => {
      const r = el.getBoundingClientRect();
      return { x: r.x, y: r.y, width: r.width, height: r.height, nw: el.naturalWidth, nh: el.naturalHeight };
    });
    const sx = geometry.width / geometry.nw;
    const sy = geometry.height / geometry.nh;
    for (let i = 0; i < boxes.length; i++) {
      const b = boxes[i]!;
      const r = (await overlays.nth(i).boundingBox())!;
      expect(await overlays.nth(i).isVisible()).toBe(true);
      expect(Math.abs(r.x - (geometry.x + b.x * sx))).toBeLessThan(1.5);
      expect(Math.abs(r.y - (geometry.y + b.y * sy))).toBeLessThan(1.5);
      expect(Math.abs(r.width - b.width * sx)).toBeLessThan(1.5);
      expect(Math.abs(r.height - b.height * sy)).toBeLessThan(1.5);
    }

    // Apply: the staged rendering is the fill (black) inside every box; the original is not.
    await page.getByRole("button", { name: "Apply" }).click();
    await expect.poll(() => page.getByTestId("state").textContent()).toBe("applied");
    await page.getByTestId("image-staged").waitFor();
    const rendered = async (version: string) => {
      const res = await fetch(
        `${service.base}/sessions/${id}/instances/0/frames/1/rendered?version=${version}`,
        {
          headers: { accept: "image/png" },
        },
      );
      expect(res.status).toBe(200);
      return PNG.sync.read(Buffer.from(await res.arrayBuffer()));
    };
    const staged = await rendered("staged");
    const original = await rendered("original");
    const maxIn = (png: PNG, b: Box) => {
      let max = 0;
      for (let y = b.y; y < b.y + b.height; y++)
        for (let x = b.x; x < b.x + b.width; x++) {
          const o = (y * png.width + x) * 4;
          max = Math.max(max, png.data[o]!, png.data[o + 1]!, png.data[o + 2]!);
        }
      return max;
    };
    for (const b of boxes.filter((x) => x.frame === 1)) {
      expect(maxIn(staged, b), `box ${JSON.stringify(b)} not black`).toBe(0);
    }
    // The burned-in text was there before: some box holds non-black pixels in the original.
    expect(Math.max(...boxes.map((b) => maxIn(original, b)))).toBeGreaterThan(0);
    await page.close();
  });
});
