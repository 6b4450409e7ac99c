/**
 * GET /openapi.yaml (the contract, as committed) and GET /docs: the API reference, rendered by
 * Swagger UI (@fastify/swagger-ui, whose assets ship inside the npm package) from that same file
 * (@fastify/swagger in static mode). Nothing is fetched from elsewhere: the validator badge is off
 * and the page carries a Content-Security-Policy that allows this origin only.
 */
import fs from "node:fs";
import path from "node:path";
import swagger from "@fastify/swagger";
import swaggerUi from "@fastify/swagger-ui";
import type { FastifyInstance } from "fastify";
import { packageRoot } from "../package-root.js";

export const DOCS_PREFIX = "/docs";

export default async function docsRoutes(app: FastifyInstance): Promise<void> {
  const file = path.join(packageRoot(), "openapi.yaml");
  const text = fs.readFileSync(file, "utf8");
  app.get("/openapi.yaml", async (_request, reply) =>
    reply.type("application/yaml; charset=utf-8").send(text),
  );
  await app.register(swagger, {
    mode: "static",
    specification: { path: file, baseDir: packageRoot() },
  });
  await app.register(swaggerUi, {
    routePrefix: DOCS_PREFIX,
    // The plugin's default CSP allows https: fonts and styles and upgrades requests to https (which
    // breaks a service reached over plain http on a non-loopback address): this origin only.
    staticCSP:
      "default-src 'self'; base-uri 'self'; font-src 'self' data:; frame-ancestors 'self'; " +
      "img-src 'self' data:; object-src 'none'; script-src 'self'; script-src-attr 'none'; " +
      "style-src 'self'; connect-src 'self'",
    uiConfig: {
      // Swagger UI's default sends the spec to validator.swagger.io: not from an offline service.
      validatorUrl: null,
      docExpansion: "list",
      deepLinking: true,
      defaultModelsExpandDepth: 0,
    },
  });
}
