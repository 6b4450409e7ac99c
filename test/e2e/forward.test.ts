/**
 * "Commit and forward" on the review page, in chromium against the real service whose
 * DESTINATION_STOW_URL points at a fake STOW-RS destination (a node:http server in this test): the
 * destination receives the staged instances as multipart/related, each one parses (dcmjs), and the
 * page shows what the destination stored.
 */
import http from "node:http";
import type { AddressInfo } from "node:net";
import type { Browser } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { splitMultipart } from "../helpers/app.js";
import { haveChromium, launchChromium } from "../helpers/browser.js";
import { naturalize, readWithDcmjs } from "../helpers/dicom.js";
import { seedStudy } from "../helpers/seed.js";
import { startService, type ServiceProcess } from "../helpers/service.js";

const HAVE_CHROMIUM = haveChromium();

interface Received {
  contentType: string;
  instances: Array<Record<string, unknown>>;
}

/** A STOW-RS destination: parses every part with dcmjs and answers the referenced SOP sequence. */
function fakeDestination(received: Received[]): http.Server {
  return http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const contentType = req.headers["content-type"] ?? "";
      const parts = splitMultipart(Buffer.concat(chunks), contentType);
      const instances = parts.map((p) => naturalize(readWithDcmjs(p.data).dict));
      received.push({ contentType, instances });
      res.writeHead(200, { "content-type": "application/dicom+json" });
      res.end(
        JSON.stringify({
          "00081199": {
            vr: "SQ",
            Value: instances.map((ds) => ({
              "00081150": { vr: "UI", Value: [ds.SOPClassUID] },
              "00081155": { vr: "UI", Value: [ds.SOPInstanceUID] },
            })),
          },
        }),
      );
    });
  });
}

describe.skipIf(!HAVE_CHROMIUM)("commit and forward from the review page", () => {
  const received: Received[] = [];
  let destination: http.Server;
  let service: ServiceProcess;
  let browser: Browser;
  beforeAll(async () => {
    destination = fakeDestination(received);
    await new Promise<void>((r) => destination.listen(0, "127.0.0.1", r));
    const port = (destination.address() as AddressInfo).port;
    [service, browser] = await Promise.all([
      startService({ DESTINATION_STOW_URL: `http://127.0.0.1:${port}/dicom-web/studies` }),
      launchChromium(),
    ]);
  });
  afterAll(async () => {
    await browser?.close();
    service?.child.kill("SIGTERM");
    await new Promise((r) => destination?.close(r));
  });

  it("sends the staged instances to the destination, which parses them; the page shows the result", async () => {
    const page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
    await page.goto(service.base);
    const files = seedStudy().map((buffer, i) => ({
      name: `s${i}.dcm`,
      mimeType: "application/dicom",
      buffer,
    }));
    await page.getByLabel("pick files").setInputFiles(files);
    await expect.poll(() => page.getByTestId("state").textContent()).toBe("open");
    await page.locator("#left-select").selectOption("hipaa");
    await page.getByRole("button", { name: "Apply" }).click();
    await expect.poll(() => page.getByTestId("state").textContent()).toBe("applied");
    expect(received).toHaveLength(0);

    await page.getByRole("button", { name: "Commit and forward" }).click();
    await expect
      .poll(() => page.getByTestId("forward-result").textContent())
      .toMatch(/Forwarded to the destination: 3 instance\(s\) stored\./);
    await page.getByTestId("audit").waitFor();

    const instances = received.flatMap((r) => r.instances);
    expect(instances).toHaveLength(3);
    for (const r of received) expect(r.contentType).toMatch(/^multipart\/related;.*application\/dicom/);
    const originals = new Set(seedStudy().map((b) => naturalize(readWithDcmjs(b).dict).SOPInstanceUID));
    for (const ds of instances) {
      expect(ds.PatientAge).toBe("089Y");
      expect(ds.DeviceSerialNumber).toBeUndefined();
      expect(originals.has(ds.SOPInstanceUID)).toBe(false);
    }
    expect(new Set(instances.map((ds) => ds.SOPInstanceUID)).size).toBe(3);
    await page.close();
  });
});
