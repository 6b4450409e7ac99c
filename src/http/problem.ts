/**
 * HTTP errors as RFC 9457 problem details. Handlers throw an HttpProblem; the one error handler in
 * app.ts renders it as application/problem+json. `detail` may name tags, limits and profiles, never
 * values from the request; 5xx bodies stay generic.
 */

export interface ProblemExtras {
  readonly [key: string]: unknown;
}

export class HttpProblem extends Error {
  constructor(
    readonly status: number,
    readonly title: string,
    readonly detail?: string,
    readonly extras: ProblemExtras = {},
    readonly headers: Record<string, string> = {},
  ) {
    super(detail ?? title);
    this.name = "HttpProblem";
  }
}

export const badRequest = (detail: string, extras?: ProblemExtras) =>
  new HttpProblem(400, "Bad Request", detail, extras);
export const notFound = (detail: string) => new HttpProblem(404, "Not Found", detail);
export const notAcceptable = (detail: string) => new HttpProblem(406, "Not Acceptable", detail);
export const conflict = (detail: string) => new HttpProblem(409, "Conflict", detail);
export const payloadTooLarge = (detail: string) => new HttpProblem(413, "Payload Too Large", detail);
export const unsupportedMediaType = (detail: string) =>
  new HttpProblem(415, "Unsupported Media Type", detail);
export const unprocessable = (detail: string, extras?: ProblemExtras) =>
  new HttpProblem(422, "Unprocessable Content", detail, extras);
export const overloaded = (retryAfterSeconds: number) =>
  new HttpProblem(
    503,
    "Service Unavailable",
    "the service is at capacity; retry later",
    {},
    { "retry-after": String(retryAfterSeconds) },
  );

export interface ProblemBody {
  type: string;
  title: string;
  status: number;
  detail?: string;
  [key: string]: unknown;
}

export function problemBody(problem: HttpProblem): ProblemBody {
  return {
    type: "about:blank",
    title: problem.title,
    status: problem.status,
    ...(problem.detail ? { detail: problem.detail } : {}),
    ...problem.extras,
  };
}

/**
 * Errors of the multipart/form-data parser (@fastify/busboy) that mean the body is malformed: no or
 * an empty boundary, a body that ends before its closing boundary. They carry no status of their own.
 */
const MALFORMED_FORM_DATA = [
  /^Multipart: Boundary not found$/,
  /^Boundary required$/,
  /^The needle cannot/,
  /^Unexpected end of multipart data$/,
  /terminated early due to unexpected end of multipart data$/,
];

export function isMalformedFormData(error: Error): boolean {
  return MALFORMED_FORM_DATA.some((re) => re.test(error.message));
}
