/**
 * A preview of an instance with 2,000+ attributes stays paged in chromium: the page holds at most
 * 100 table rows whatever the instance holds, the pager walks to the last page, and the filters work
 * across every row. The instance is synthetic (test/helpers/build.ts): nine private blocks of 256
 * elements each, plus a few public ones.
 */
import type { Browser } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { DataElement } from "../../src/dicom/element.js";
import { haveChromium, launchChromium } from "../helpers/browser.js";
import { instance, leaf } from "../helpers/build.js";
import { startService, type ServiceProcess } from "../helpers/service.js";

const HAVE_CHROMIUM = haveChromium();
const GROUPS = [0x0009, 0x0011, 0x0013, 0x0015, 0x0017, 0x0019, 0x0021, 0x0023, 0x0025];

/** 9 x (creator + 256 private LO elements) + public attributes: 2,300+ attributes. */
function manyAttributes(): Buffer {
  const elements: DataElement[] = [
    leaf(0x00080060, "CS", "OT"),
    leaf(0x00100010, "PN", "Doe^Jane"),
    leaf(0x00100020, "LO", "ID-42"),
    leaf(0x0020000d, "UI", "1.2.999.7.1"),
    leaf(0x0020000e, "UI", "1.2.999.7.2"),
  ];
  for (const g of GROUPS) {
    elements.push(leaf((g << 16) | 0x0010, "LO", "MANY ATTRIBUTES TEST"));
    for (let e = 0; e < 256; e++)
      elements.push(leaf((g << 16) | 0x1000 | e, "LO", `value ${g.toString(16)}-${e}`));
  }
  return instance(elements);
}

describe.skipIf(!HAVE_CHROMIUM)("a 2,000-row preview", () => {
  let service: ServiceProcess;
  let browser: Browser;
  beforeAll(async () => {
    [service, browser] = await Promise.all([startService({}), launchChromium()]);
  });
  afterAll(async () => {
    await browser?.close();
    service?.child.kill("SIGTERM");
  });

  it("stays paged (100 rows in the document), walks to the last page, filters across all rows", async () => {
    const page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
    await page.goto(service.base);
    await page
      .getByLabel("pick files")
      .setInputFiles([{ name: "many.dcm", mimeType: "application/dicom", buffer: manyAttributes() }]);
    await expect.poll(() => page.getByTestId("state").textContent()).toBe("open");
    await page.locator("#left-select").selectOption("basic");
    const started = Date.now();
    await page.getByRole("button", { name: "Preview", exact: true }).click();
    await page.locator("[data-testid=preview-left-rows]").waitFor();
    await expect.poll(() => page.getByRole("status").first().textContent()).toMatch(/preview: done/);
    const shownAfter = Date.now() - started;

    const table = page.locator("[data-testid=preview-left]");
    const total = Number(await page.getByTestId("preview-left-rows").textContent());
    expect(total).toBeGreaterThanOrEqual(2000);
    expect(total).toBeGreaterThanOrEqual(GROUPS.length * 257);
    const body = table.locator("tbody tr");
    expect(await body.count()).toBe(100);
    const pages = Math.ceil(total / 100);
    await expect(table.getByText(`page 1 of ${pages} (${total} rows)`)).toBeTruthy();
    expect(await table.getByText(`page 1 of ${pages} (${total} rows)`).count()).toBe(1);

    // To the last page by the keyboard (the pager's buttons are reachable and pressable).
    const next = table.getByRole("button", { name: "next" });
    const walk = Date.now();
    for (let i = 1; i < pages; i++) {
      await next.focus();
      await page.keyboard.press("Enter");
    }
    const walked = Date.now() - walk;
    expect(await table.getByText(`page ${pages} of ${pages}`).count()).toBe(1);
    expect(await body.count()).toBe(total - (pages - 1) * 100);
    expect(await next.isDisabled()).toBe(true);

    // The search looks through every row, not only the page shown.
    await table.getByRole("searchbox").fill("value 25-255");
    await expect.poll(() => body.count()).toBe(1);
    expect(await table.getByText("page 1 of 1 (1 rows)").count()).toBe(1);
    // The private elements are removed by basic: the changed-only filter keeps them all.
    await table.getByRole("searchbox").fill("");
    await table.getByLabel("changed only").check();
    const changed = Number(await page.getByTestId("preview-left-changed").textContent());
    expect(changed).toBeGreaterThanOrEqual(GROUPS.length * 256);
    expect(await body.count()).toBe(100);
    expect(await table.locator("tbody tr:not(.changed)").count()).toBe(0);
    console.log(
      `${total} rows (${changed} changed): preview shown ${shownAfter} ms after the click, ${pages - 1} page turns in ${walked} ms`,
    );
    await page.close();
  });
});
