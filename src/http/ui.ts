/**
 * GET / : the review page (ui/, built by Vite into dist/ui by `npm run build`), and its assets under
 * /ui/. Everything comes from this origin: the CSP allows no other.
 */
import fs from "node:fs";
import path from "node:path";
import fastifyStatic from "@fastify/static";
import type { FastifyInstance } from "fastify";
import { packageRoot } from "../package-root.js";
import { HttpProblem } from "./problem.js";

export const UI_PREFIX = "/ui";

const CSP =
  "default-src 'self'; base-uri 'self'; frame-ancestors 'none'; object-src 'none'; " +
  "script-src 'self'; style-src 'self'; img-src 'self' blob: data:; connect-src 'self'; form-action 'self'";

export default async function uiRoutes(app: FastifyInstance): Promise<void> {
  const dir = path.join(packageRoot(), "dist/ui");
  const index = path.join(dir, "index.html");
  const html = fs.existsSync(index) ? fs.readFileSync(index) : undefined;
  app.get("/", async (_request, reply) => {
    if (!html)
      throw new HttpProblem(503, "Service Unavailable", 'the review page is not built: run "npm run build"');
    return reply
      .type("text/html; charset=utf-8")
      .header("content-security-policy", CSP)
      .header("cache-control", "no-cache")
      .send(html);
  });
  if (html)
    await app.register(fastifyStatic, {
      root: path.join(dir, "assets"),
      prefix: `${UI_PREFIX}/assets/`,
      // File names carry a content hash: they never change.
      immutable: true,
      maxAge: "365d",
      index: false,
      list: false,
    });
}
