/** multipart/mixed and multipart/related bodies as chunk lists (instances are never concatenated). */
import crypto from "node:crypto";

export interface BodyPart {
  readonly contentType: string;
  /** One buffer, or chunks that are sent as they are (never concatenated). */
  readonly data: Buffer | readonly Buffer[];
  readonly headers?: Record<string, string>;
}

export interface MultipartBody {
  readonly contentType: string;
  readonly chunks: Buffer[];
  readonly length: number;
}

/** `subtype` is "mixed" or "related"; `typeParam` becomes related's type="..." parameter. */
export function multipartBody(
  subtype: "mixed" | "related",
  parts: readonly BodyPart[],
  typeParam?: string,
): MultipartBody {
  const boundary = `dwanon-${crypto.randomBytes(16).toString("hex")}`;
  const chunks: Buffer[] = [];
  for (const part of parts) {
    const data = Buffer.isBuffer(part.data) ? [part.data] : (part.data as readonly Buffer[]);
    const size = data.reduce((n, c) => n + c.length, 0);
    const headers = Object.entries({
      "Content-Type": part.contentType,
      "Content-Length": String(size),
      ...part.headers,
    })
      .map(([k, v]) => `${k}: ${v}\r\n`)
      .join("");
    chunks.push(Buffer.from(`--${boundary}\r\n${headers}\r\n`), ...data, Buffer.from("\r\n"));
  }
  chunks.push(Buffer.from(`--${boundary}--\r\n`));
  const params = typeParam ? `; type="${typeParam}"` : "";
  return {
    contentType: `multipart/${subtype}${params}; boundary=${boundary}`,
    chunks,
    length: chunks.reduce((n, c) => n + c.length, 0),
  };
}
