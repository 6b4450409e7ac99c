/**
 * Errors node:http raises before a request reaches a route (headers or a whole request too slow,
 * headers too large, unparsable HTTP): answered as RFC 9457 problem details like every other error,
 * then the connection closes. The body names the limit, never anything from the request.
 */
import type { Socket } from "node:net";
import type { FastifyInstance } from "fastify";

const ANSWERS: Record<string, { status: number; title: string; detail: string }> = {
  ERR_HTTP_REQUEST_TIMEOUT: {
    status: 408,
    title: "Request Timeout",
    detail: "the request's headers or body took too long (HEADERS_TIMEOUT_MS, REQUEST_TIMEOUT_MS)",
  },
  HPE_HEADER_OVERFLOW: {
    status: 431,
    title: "Request Header Fields Too Large",
    detail: "the request's headers are larger than 16 KiB",
  },
};
const MALFORMED = { status: 400, title: "Bad Request", detail: "the request is not valid HTTP/1.1" };

export function clientErrorHandler(
  this: FastifyInstance,
  error: Error & { code?: string },
  socket: Socket,
): void {
  if (error.code === "ECONNRESET" || socket.destroyed) return;
  const answer = ANSWERS[error.code ?? ""] ?? MALFORMED;
  this.log.debug({ code: error.code, status: answer.status }, "client error");
  if (socket.writable) {
    const body = JSON.stringify({ type: "about:blank", ...answer });
    socket.write(
      `HTTP/1.1 ${answer.status} ${answer.title}\r\nContent-Type: application/problem+json\r\n` +
        `Content-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
    );
  }
  socket.destroy(error);
}
