/** Response format from the Accept header (RFC 9110 12.5.1, q-values honoured). */
import { notAcceptable } from "./problem.js";

export type ResponseFormat = "mixed" | "zip" | "related";

const SUPPORTED = 'multipart/mixed, application/zip, multipart/related; type="application/dicom"';

export function negotiate(accept: string | undefined): ResponseFormat {
  if (!accept || accept.trim() === "") return "mixed";
  const ranges = accept
    .split(",")
    .map((range, order) => {
      const [type, ...params] = range.split(";").map((s) => s.trim());
      const q = Number(params.find((p) => p.startsWith("q="))?.slice(2) ?? "1");
      const typeParam = params
        .find((p) => p.toLowerCase().startsWith("type="))
        ?.slice(5)
        .replace(/"/g, "")
        .toLowerCase();
      return { type: (type ?? "").toLowerCase(), typeParam, q: Number.isFinite(q) ? q : 0, order };
    })
    .filter((r) => r.q > 0)
    .sort((a, b) => b.q - a.q || a.order - b.order);
  for (const r of ranges) {
    if (r.type === "*/*" || r.type === "multipart/*" || r.type === "multipart/mixed") return "mixed";
    if (r.type === "application/zip" || r.type === "application/*") return "zip";
    if (r.type === "multipart/related" && (r.typeParam === undefined || r.typeParam === "application/dicom"))
      return "related";
  }
  throw notAcceptable(`supported response types: ${SUPPORTED}`);
}
