/**
 * GET /openapi.yaml (the contract, as committed) and GET /docs (an API reference page rendered from
 * it on the server: no scripts, no external assets).
 */
import fs from "node:fs";
import path from "node:path";
import type { FastifyInstance } from "fastify";
import YAML from "yaml";
import { packageRoot } from "../package-root.js";

interface Operation {
  summary?: string;
  description?: string;
  parameters?: Array<{ name: string; in: string; required?: boolean; description?: string }>;
  requestBody?: { content?: Record<string, unknown> };
  responses?: Record<string, { description?: string; content?: Record<string, unknown> }>;
}

const escape = (s: string) =>
  s.replace(/[&<>"]/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;" })[c]!);

export function renderDocs(spec: {
  info?: { title?: string; version?: string; description?: string };
  paths?: Record<string, Record<string, Operation>>;
}): string {
  const sections = Object.entries(spec.paths ?? {}).flatMap(([route, ops]) =>
    Object.entries(ops)
      .filter(([method]) => ["get", "post", "put", "delete", "patch"].includes(method))
      .map(([method, op]) => {
        const params = (op.parameters ?? [])
          .map(
            (p) =>
              `<li><code>${escape(p.name)}</code> (${p.in}${p.required ? ", required" : ""}) ${escape(p.description ?? "")}</li>`,
          )
          .join("");
        const bodies = Object.keys(op.requestBody?.content ?? {})
          .map((t) => `<code>${escape(t)}</code>`)
          .join(", ");
        const responses = Object.entries(op.responses ?? {})
          .map(
            ([code, r]) =>
              `<tr><td>${code}</td><td>${escape(r.description ?? "")}</td><td>${Object.keys(r.content ?? {})
                .map((t) => `<code>${escape(t)}</code>`)
                .join(" ")}</td></tr>`,
          )
          .join("");
        return `<section><h2><span class="m">${method.toUpperCase()}</span> <code>${escape(route)}</code></h2>
<p><strong>${escape(op.summary ?? "")}</strong></p><p>${escape(op.description ?? "")}</p>
${params ? `<h3>Parameters</h3><ul>${params}</ul>` : ""}${bodies ? `<h3>Request body</h3><p>${bodies}</p>` : ""}
<h3>Responses</h3><table><tr><th>status</th><th>meaning</th><th>types</th></tr>${responses}</table></section>`;
      }),
  );
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>${escape(spec.info?.title ?? "API")}</title>
<style>body{font-family:system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem;line-height:1.4}
section{border-top:1px solid #ccc;padding-top:.5rem}.m{background:#234;color:#fff;padding:0 .4rem;border-radius:3px}
table{border-collapse:collapse}td,th{border:1px solid #ddd;padding:.2rem .5rem;text-align:left;vertical-align:top}</style></head>
<body><h1>${escape(spec.info?.title ?? "API")} <small>${escape(spec.info?.version ?? "")}</small></h1>
<p>${escape(spec.info?.description ?? "")}</p><p>The contract: <a href="/openapi.yaml">openapi.yaml</a>.</p>${sections.join("\n")}</body></html>`;
}

export default async function docsRoutes(app: FastifyInstance): Promise<void> {
  const text = fs.readFileSync(path.join(packageRoot(), "openapi.yaml"), "utf8");
  const html = renderDocs(YAML.parse(text));
  app.get("/openapi.yaml", async (_request, reply) =>
    reply.type("application/yaml; charset=utf-8").send(text),
  );
  app.get("/docs", async (_request, reply) => reply.type("text/html; charset=utf-8").send(html));
}
