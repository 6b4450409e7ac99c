/**
 * A real browser for end-to-end tests: Debian's chromium driven by playwright-core (which downloads
 * nothing). Absent chromium is loud, and a failure under CI (see requireTool).
 */
import { chromium, type Browser } from "playwright-core";
import { requireTool } from "./tools.js";

export const CHROMIUM = "/usr/bin/chromium";

export function haveChromium(): boolean {
  return requireTool("chromium", "chromium");
}

export async function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: [
      "--no-sandbox",
      "--disable-gpu",
      "--disable-background-networking",
      "--disable-component-update",
      "--no-first-run",
      "--disable-sync",
    ],
  });
}
