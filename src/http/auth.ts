/**
 * Bearer tokens (API_TOKENS). When configured, routes that take or return patient data need one, and
 * a session belongs to the token that created it, identified by a hash (the token is never stored).
 */
import crypto from "node:crypto";
import type { FastifyRequest } from "fastify";
import { HttpProblem } from "./problem.js";

export type Owner = string | null;

const unauthorized = () =>
  new HttpProblem(
    401,
    "Unauthorized",
    "a valid bearer token is required",
    {},
    { "www-authenticate": 'Bearer realm="dicomweb-anonymizer"' },
  );

export function makeAuthenticator(tokens: readonly string[]): (request: FastifyRequest) => Owner {
  const digests = tokens.map((t) => crypto.createHash("sha256").update(t).digest());
  return (request) => {
    if (digests.length === 0) return null;
    const m = /^Bearer\s+(\S+)\s*$/i.exec(request.headers.authorization ?? "");
    if (!m) throw unauthorized();
    const digest = crypto.createHash("sha256").update(m[1]!).digest();
    // Compare digests (equal length) in constant time.
    if (!digests.some((d) => crypto.timingSafeEqual(d, digest))) throw unauthorized();
    return digest.toString("hex").slice(0, 32);
  };
}
