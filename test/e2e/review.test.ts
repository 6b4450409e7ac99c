/**
 * The review page end to end, in a real browser (Debian's chromium, driven by playwright-core),
 * against the real service on a free port, with a real three-instance study (test/helpers/seed.ts:
 * corpus MR with Device Serial Number and Institution Address, age 093Y).
 *
 * Screenshots of each step go to a temporary directory (printed), or to SCREENSHOTS_DIR when set
 * (docs/screenshots is made that way).
 */
import { execFileSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { haveChromium, launchChromium } from "../helpers/browser.js";
import { corpusFile } from "../helpers/corpus.js";
import { naturalize, readWithDcmjs } from "../helpers/dicom.js";
import { seedStudy } from "../helpers/seed.js";
import { startService, type ServiceProcess } from "../helpers/service.js";

const HAVE_CHROMIUM = haveChromium();
const SHOTS = process.env.SCREENSHOTS_DIR ?? fs.mkdtempSync(path.join(os.tmpdir(), "review-e2e-"));
const TOKEN = "e2e-token-0123456789abcdef";

const files = () =>
  seedStudy().map((buffer, i) => ({ name: `study-${i + 1}.dcm`, mimeType: "application/dicom", buffer }));

/** A screenshot of the window with `at` (a selector) scrolled to the top. */
async function shot(page: Page, name: string, at?: string) {
  fs.mkdirSync(SHOTS, { recursive: true });
  if (at)
    await page
      .locator(at)
      .first()
      .evaluate((el) => el.scrollIntoView({ block: "start" }));
  else await page.evaluate(() => window.scrollTo(0, 0));
  await page.screenshot({ path: path.join(SHOTS, `${name}.png`) });
}

/** The text of a preview table's cell for a keyword: [action, before, after]. */
async function row(page: Page, table: string, keyword: string): Promise<string[]> {
  const cells = page.locator(`[data-testid=${table}] tr[data-keyword=${keyword}] td`);
  const texts = await cells.allTextContents();
  return [texts[3]!, texts[4]!, texts[5]!];
}

async function preview(page: Page, table: string) {
  await page.getByRole("button", { name: "Preview", exact: true }).click();
  await page.locator(`[data-testid=${table}-rows]`).waitFor();
  await expect.poll(() => page.getByRole("status").first().textContent()).toMatch(/preview: done/);
}

describe.skipIf(!HAVE_CHROMIUM)("the review page in chromium", () => {
  let service: ServiceProcess;
  let secured: ServiceProcess;
  let browser: Browser;
  beforeAll(async () => {
    [service, secured, browser] = await Promise.all([
      startService({}),
      startService({ API_TOKENS: TOKEN }),
      launchChromium(),
    ]);
    console.log(`screenshots: ${SHOTS}`);
  });
  afterAll(async () => {
    await browser?.close();
    service?.child.kill("SIGTERM");
    secured?.child.kill("SIGTERM");
  });

  it("upload, preview basic then hipaa, custom profile, apply, revert, apply, images, commit (zip)", async () => {
    const context = await browser.newContext({
      acceptDownloads: true,
      viewport: { width: 1400, height: 900 },
    });
    const page = await context.newPage();
    const elsewhere: string[] = [];
    page.on("request", (r) => {
      const url = r.url();
      if (!url.startsWith(service.base) && !url.startsWith("blob:") && !url.startsWith("data:"))
        elsewhere.push(url);
    });
    await page.goto(service.base);
    await page.getByLabel("pick files").setInputFiles(files());
    await expect.poll(() => page.getByTestId("state").textContent()).toBe("open");
    await expect(page.getByText("3 instance(s)")).toBeTruthy();
    await shot(page, "1-uploaded");

    // basic, then hipaa: different changes; the age capped, the serial number and address removed.
    await page.locator("#left-select").selectOption("basic");
    await preview(page, "preview-left");
    const basicChanged = Number(await page.getByTestId("preview-left-changed").textContent());
    expect(await row(page, "preview-left", "PatientAge")).toEqual(["remove", "093Y", "(removed)"]);
    // Unchanged attributes are listed too, with their keyword (from the service's dictionary).
    expect((await row(page, "preview-left", "SOPClassUID"))[0]).toBe("keep");
    await shot(page, "2-preview-basic", "#preview-title");
    await page.locator("#left-select").selectOption("hipaa");
    await preview(page, "preview-left");
    const hipaaChanged = Number(await page.getByTestId("preview-left-changed").textContent());
    expect(hipaaChanged).toBeGreaterThan(0);
    expect(hipaaChanged).not.toBe(basicChanged);
    expect(await row(page, "preview-left", "PatientAge")).toEqual(["capAge", "093Y", "089Y"]);
    expect((await row(page, "preview-left", "DeviceSerialNumber"))[2]).toBe("(removed)");
    expect((await row(page, "preview-left", "InstitutionAddress"))[2]).toBe("(removed)");
    const gold = await page
      .locator("[data-testid=preview-left] tr.changed")
      .first()
      .evaluate((tr) => getComputedStyle(tr).backgroundColor);
    expect(gold).toBe("rgb(255, 217, 102)");
    const unchanged = await page
      .locator("[data-testid=preview-left] tbody tr:not(.changed)")
      .first()
      .evaluate((tr) => getComputedStyle(tr).backgroundColor);
    expect(unchanged).not.toBe(gold);

    // Paged: at most 100 rows are in the document at once, whatever the instance holds.
    const total = Number(await page.getByTestId("preview-left-rows").textContent());
    expect(total).toBeGreaterThan(100);
    const body = page.locator("[data-testid=preview-left] tbody tr");
    expect(await body.count()).toBe(100);
    await page.locator("[data-testid=preview-left]").getByRole("button", { name: "next" }).click();
    expect(await body.count()).toBe(Math.min(100, total - 100));
    await page.locator("[data-testid=preview-left]").getByRole("button", { name: "previous" }).click();

    // Side by side with basic; the changed-only filter keeps gold rows only.
    await page.locator("#right-select").selectOption("basic");
    await preview(page, "preview-right");
    expect(Number(await page.getByTestId("preview-right-changed").textContent())).toBe(basicChanged);
    await page.locator("[data-testid=preview-left]").getByLabel("changed only").check();
    expect(await page.locator("[data-testid=preview-left] tbody tr:not(.changed)").count()).toBe(0);
    await shot(page, "3-side-by-side", "#preview-title");
    await page.locator("#right-select").selectOption("");

    // A custom profile with a mistake: the server's message is shown; the seed's export works.
    await page.locator("#left-select").selectOption("(custom)");
    await page.locator("#left-custom").fill('[{"id": "(0008,103E)", "act": "scramble"}]');
    await page.getByRole("button", { name: "Preview", exact: true }).click();
    await expect
      .poll(() => page.getByTestId("error").textContent())
      .toMatch(/invalid custom profile: \$\[0\]\.act: must be "keep" or "remove"/);
    await shot(page, "4-custom-profile-error", "#profile-title");
    await page.locator("#left-custom").fill('[{"id": "(0008,103E)", "act": "keep"}]');
    await preview(page, "preview-left");
    expect(await page.getByTestId("error").count()).toBe(0);

    // Apply hipaa, revert, apply again.
    await page.locator("#left-select").selectOption("hipaa");
    await page.getByRole("button", { name: "Apply" }).click();
    await expect.poll(() => page.getByTestId("state").textContent()).toBe("applied");
    await page.getByRole("button", { name: "Revert" }).click();
    await expect.poll(() => page.getByTestId("state").textContent()).toBe("open");
    await page.getByRole("button", { name: "Apply" }).click();
    await expect.poll(() => page.getByTestId("state").textContent()).toBe("applied");

    // Images: original beside staged, both non-blank PNGs.
    for (const version of ["original", "staged"]) {
      const img = page.getByTestId(`image-${version}`);
      await img.waitFor();
      const stats = await img.evaluate(async (el: HTMLImageElement) => {
        await el.decode();
        const canvas = document.createElement("canvas");
        canvas.width = el.naturalWidth;
        canvas.height = el.naturalHeight;
        const g = canvas.getContext("2d")!;
        g.drawImage(el, 0, 0);
        const data = g.getImageData(0, 0, canvas.width, canvas.height).data;
        let min = 255;
        let max = 0;
        for (let i = 0; i < data.length; i += 4) {
          min = Math.min(min, data[i]!);
          max = Math.max(max, data[i]!);
        }
        return { width: el.naturalWidth, height: el.naturalHeight, min, max };
      });
      expect(stats.width).toBeGreaterThan(0);
      expect(stats.max - stats.min, `${version} image is blank`).toBeGreaterThan(50);
    }
    await page.getByRole("button", { name: "Show the staged header" }).click();
    await page.locator("table.header").waitFor();
    expect(await page.locator("table.header").textContent()).toContain("089Y");
    await shot(page, "5-applied-images", "#images-title");

    // Commit: the zip, read by Python's zipfile and the instances by dcmjs.
    const download = page.waitForEvent("download");
    await page.getByRole("button", { name: "Commit and download (zip)" }).click();
    const work = fs.mkdtempSync(path.join(os.tmpdir(), "review-e2e-zip-"));
    const zipPath = path.join(work, "commit.zip");
    await (await download).saveAs(zipPath);
    await expect.poll(() => page.getByTestId("state").textContent()).toBe("committed");
    await page.getByTestId("audit").waitFor();
    await shot(page, "6-committed-audit", "#session-title");
    // Python's zipfile checks every CRC (testzip) and extracts; dcmjs reads each instance.
    const out = path.join(work, "commit");
    execFileSync("/usr/bin/python3", [
      "-c",
      "import sys,zipfile\nz=zipfile.ZipFile(sys.argv[1])\nassert z.testzip() is None\nz.extractall(sys.argv[2])",
      zipPath,
      out,
    ]);
    const names = fs.readdirSync(out).sort();
    expect(names.filter((n) => n.endsWith(".dcm"))).toHaveLength(3);
    expect(names).toContain("audit.json");
    const audit = JSON.parse(fs.readFileSync(path.join(out, "audit.json"), "utf8"));
    expect(audit.profile.name).toBe("hipaa");
    expect(audit.summary.anonymized).toBe(3);
    for (const n of names.filter((x) => x.endsWith(".dcm"))) {
      const ds = naturalize(readWithDcmjs(fs.readFileSync(path.join(out, n))).dict);
      expect(ds.PatientAge).toBe("089Y");
      expect(ds.DeviceSerialNumber).toBeUndefined();
      expect(ds.InstitutionAddress).toBeUndefined();
    }
    // Delete: the session is gone on the server, and the page is back at the upload step.
    const id = await page.getByTestId("session-id").getAttribute("title");
    expect((await fetch(`${service.base}/sessions/${id}`)).status).toBe(200);
    await page.getByRole("button", { name: "Delete session" }).click();
    await page.getByLabel("pick files").waitFor();
    expect((await fetch(`${service.base}/sessions/${id}`)).status).toBe(404);
    expect(elsewhere).toEqual([]);
    fs.rmSync(work, { recursive: true, force: true });
    await context.close();
  });

  it("a multi-frame instance gets a frame slider, reachable and moved by the keyboard", async () => {
    const page = await browser.newPage();
    await page.goto(service.base);
    const buffer = corpusFile("mr-enhanced-multiframe.dcm"); // 10 frames
    await page
      .getByLabel("pick files")
      .setInputFiles([{ name: "mf.dcm", mimeType: "application/dicom", buffer }]);
    await expect.poll(() => page.getByTestId("state").textContent()).toBe("open");
    const slider = page.getByLabel(/frame 1 of 10/);
    await slider.waitFor();
    await slider.focus();
    await page.keyboard.press("End");
    await page.getByAltText("instance 1, frame 10, original").waitFor();
    expect(
      await page
        .getByAltText("instance 1, frame 10, original")
        .evaluate((el: HTMLImageElement) => el.decode().then(() => el.naturalWidth)),
    ).toBeGreaterThan(0);
    await page.close();
  });

  it("with API_TOKENS the page asks for a token, refuses a wrong one, and keeps it for the tab", async () => {
    const page = await browser.newPage();
    await page.goto(secured.base);
    await page.getByLabel("pick files").setInputFiles(files().slice(0, 1));
    await page.getByText("This service needs an API token.").waitFor();
    await page.getByLabel("API token").fill("wrong-token-0000000000000000");
    await page.getByRole("button", { name: "Use token" }).click();
    await page.getByLabel("pick files").setInputFiles(files().slice(0, 1));
    await page.getByText("The token was refused").waitFor();
    await shot(page, "7-token-refused");
    await page.getByLabel("API token").fill(TOKEN);
    await page.getByRole("button", { name: "Use token" }).click();
    await page.getByLabel("pick files").setInputFiles(files().slice(0, 1));
    await expect.poll(() => page.getByTestId("state").textContent()).toBe("open");
    expect(await page.evaluate(() => sessionStorage.getItem("dwanon.token"))).toBe(TOKEN);
    expect(await page.evaluate(() => localStorage.length)).toBe(0);
    await page.close();
  });
});
