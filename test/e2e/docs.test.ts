/**
 * GET /docs in a real browser: Swagger UI renders openapi.yaml from this service alone (no request
 * leaves the origin), with every operation and every status code's meaning ($refs resolved).
 */
import fs from "node:fs";
import path from "node:path";
import type { Browser } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import YAML from "yaml";
import { ROOT } from "../helpers/corpus.js";
import { haveChromium, launchChromium } from "../helpers/browser.js";
import { startService, type ServiceProcess } from "../helpers/service.js";

const HAVE_CHROMIUM = haveChromium();
const spec = YAML.parse(fs.readFileSync(path.join(ROOT, "openapi.yaml"), "utf8"));
const METHODS = ["get", "post", "put", "patch", "delete"];

describe.skipIf(!HAVE_CHROMIUM)("/docs in chromium", () => {
  let service: ServiceProcess;
  let browser: Browser;
  beforeAll(async () => {
    [service, browser] = await Promise.all([startService({}), launchChromium()]);
  });
  afterAll(async () => {
    await browser?.close();
    service?.child.kill("SIGTERM");
  });

  it("shows every operation, and every status code with its meaning, from this origin only", async () => {
    const page = await browser.newPage();
    const elsewhere: string[] = [];
    page.on("request", (r) => {
      if (!r.url().startsWith(service.base) && !r.url().startsWith("data:")) elsewhere.push(r.url());
    });
    await page.goto(`${service.base}/docs`);
    await page.locator(".opblock").first().waitFor();
    const expected = Object.entries(spec.paths as Record<string, Record<string, unknown>>).flatMap(
      ([p, ops]) =>
        Object.keys(ops)
          .filter((m) => METHODS.includes(m))
          .map((m) => `${m.toUpperCase()} ${p}`),
    );
    const shown = await page
      .locator(".opblock-summary")
      .evaluateAll((els) =>
        els.map(
          (e) =>
            `${e.querySelector(".opblock-summary-method")?.textContent?.trim()} ${e
              .querySelector(".opblock-summary-path")
              ?.getAttribute("data-path")}`,
        ),
      );
    expect(shown.sort()).toEqual(expected.sort());

    // Open every operation, then read each response row: status and meaning.
    await page
      .locator(".opblock-summary-control")
      .evaluateAll((els) => els.forEach((e) => (e as HTMLElement).click()));
    await expect
      .poll(() => page.locator(".opblock .responses-table").count(), { timeout: 15_000 })
      .toBe(expected.length);
    const rows = await page.locator("tr.response").evaluateAll((els) =>
      els.map((e) => ({
        op: e.closest(".opblock")?.querySelector(".opblock-summary-path")?.getAttribute("data-path"),
        status: e.querySelector(".response-col_status")?.textContent?.trim(),
        meaning: e
          .querySelector(".response-col_description .markdown, .response-col_description")
          ?.textContent?.trim(),
      })),
    );
    const documented = expected.reduce((n, e) => {
      const [m, p] = e.split(" ");
      return n + Object.keys((spec.paths[p!][m!.toLowerCase()] as { responses: object }).responses).length;
    }, 0);
    expect(rows.length).toBe(documented);
    const empty = rows.filter((r) => !r.meaning || r.meaning.length < 3);
    expect(empty).toEqual([]);
    expect(elsewhere).toEqual([]);
  });
});
