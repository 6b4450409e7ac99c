/** GET / serves the built review page (npm run build) and its assets, from this origin only. */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { testApp, type TestApp } from "../helpers/app.js";

let t: TestApp;
beforeAll(async () => {
  t = await testApp();
});
afterAll(async () => t.app.close());

describe("the review page", () => {
  it("/ is the page with a same-origin CSP; its scripts and styles are under /ui/assets/", async () => {
    const page = await t.app.inject({ url: "/" });
    expect(page.statusCode).toBe(200);
    expect(page.headers["content-type"]).toMatch(/^text\/html/);
    const csp = String(page.headers["content-security-policy"]);
    expect(csp).toMatch(/default-src 'self'/);
    expect(csp).not.toMatch(/https?:|unsafe-inline|unsafe-eval/);
    const assets = [...page.body.matchAll(/(?:src|href)="([^"]+)"/g)].map((m) => m[1]!);
    expect(assets.filter((a) => a.startsWith("/ui/assets/"))).toHaveLength(2);
    for (const a of assets) expect(a).toMatch(/^(\/ui\/assets\/|data:)/);
    for (const a of assets.filter((x) => x.startsWith("/ui/"))) {
      const res = await t.app.inject({ url: a });
      expect(res.statusCode, a).toBe(200);
      expect(res.headers["content-type"]).toMatch(/javascript|css/);
      // Nothing fetched from elsewhere: the only absolute URLs are XML namespace names.
      const urls = res.body.match(/https?:\/\/[^"' )]+/g) ?? [];
      expect(urls.filter((u) => !u.startsWith("http://www.w3.org/"))).toEqual([]);
    }
    const missing = await t.app.inject({ url: "/ui/assets/nothing.js" });
    expect(missing.statusCode).toBe(404);
  });
});
