/**
 * Reads an upload in any of the three accepted forms and yields its parts as they complete:
 *   application/dicom                          one instance
 *   multipart/related; type="application/dicom" one instance per part (STOW-RS style)
 *   multipart/form-data                        one instance per file field; a "profile" field may carry a custom profile
 * A part whose type is application/json (or the form field "profile") is a custom profile.
 */
import type {} from "@fastify/multipart";
import type { FastifyRequest } from "fastify";
import { badRequest, unsupportedMediaType } from "../http/problem.js";
import {
  PartCollector,
  partTooLarge,
  requestTooLarge,
  tooManyParts,
  type UploadLimits,
  type UploadPart,
} from "./limits.js";
import { readMultipartRelated } from "./multipart-related.js";
import { BodyPace, chunkSize } from "./pace.js";

export const DICOM = "application/dicom";

interface MediaType {
  readonly type: string;
  readonly params: Record<string, string>;
}

export function parseMediaType(header: string | undefined): MediaType | undefined {
  if (!header) return undefined;
  const [type, ...rest] = header.split(";");
  const params: Record<string, string> = {};
  for (const p of rest) {
    const eq = p.indexOf("=");
    if (eq < 0) continue;
    const key = p.slice(0, eq).trim().toLowerCase();
    let value = p.slice(eq + 1).trim();
    if (value.startsWith('"') && value.endsWith('"')) value = value.slice(1, -1);
    params[key] = value;
  }
  return { type: type!.trim().toLowerCase(), params };
}

export const isProfilePart = (part: UploadPart): boolean =>
  parseMediaType(part.contentType)?.type === "application/json";

/**
 * The parts of the request's body, paced (a minimum rate, 408 below it) and, with
 * limits.admission, admitted to a slot when the first instance is complete (a custom profile part
 * before it does not count): a client that is slow to send holds no slot.
 */
export async function* readUpload(request: FastifyRequest, limits: UploadLimits): AsyncGenerator<UploadPart> {
  let admitted = false;
  for await (const part of readParts(request, limits)) {
    if (!admitted && !isProfilePart(part)) {
      limits.admission?.admit();
      admitted = true;
    }
    yield part;
  }
}

async function* readParts(request: FastifyRequest, limits: UploadLimits): AsyncGenerator<UploadPart> {
  const media = parseMediaType(request.headers["content-type"]);
  switch (media?.type) {
    case DICOM:
      yield await readSingle(request, limits);
      return;
    case "multipart/related": {
      const type = (media.params.type ?? DICOM).toLowerCase();
      if (type !== DICOM)
        throw unsupportedMediaType('multipart/related is taken with type="application/dicom" only');
      if (!media.params.boundary) throw badRequest("multipart/related needs a boundary parameter");
      yield* readMultipartRelated(request.raw, media.params.boundary, DICOM, limits);
      return;
    }
    case "multipart/form-data":
      yield* readFormData(request, limits);
      return;
    default:
      throw unsupportedMediaType(
        'send application/dicom, multipart/related; type="application/dicom" or multipart/form-data',
      );
  }
}

async function readSingle(request: FastifyRequest, limits: UploadLimits): Promise<UploadPart> {
  const declared = Number(request.headers["content-length"]);
  if (declared > limits.maxRequestBytes) throw requestTooLarge(limits);
  if (declared > limits.maxPartBytes) throw partTooLarge(limits);
  const body = new BodyPace(limits).iterate<Buffer>(request.raw, chunkSize);
  if (Number.isInteger(declared) && declared > 0) {
    // The size is known: one buffer, filled in place (no chunk list, no second copy). Its pages
    // are committed as they are written, so the bytes count against the budget as they arrive.
    const data = Buffer.allocUnsafeSlow(declared);
    let offset = 0;
    for await (const chunk of body) {
      limits.admission?.buffer(chunk.length);
      const c = chunk as Buffer;
      if (offset + c.length > declared) throw badRequest("the body is longer than its Content-Length");
      c.copy(data, offset);
      offset += c.length;
    }
    if (offset !== declared) throw badRequest("the body is shorter than its Content-Length");
    return { contentType: DICOM, data };
  }
  const collector = new PartCollector(
    Math.min(limits.maxPartBytes, limits.maxRequestBytes),
    () => (limits.maxPartBytes < limits.maxRequestBytes ? partTooLarge(limits) : requestTooLarge(limits)),
    limits.admission,
  );
  for await (const chunk of body) collector.add(chunk);
  if (collector.size === 0) throw badRequest("the request body is empty");
  return { contentType: DICOM, data: collector.take() };
}

async function* readFormData(request: FastifyRequest, limits: UploadLimits): AsyncGenerator<UploadPart> {
  let parts = 0;
  let total = 0;
  // One pace for the whole form: file bytes and field values count, waits between parts too.
  const pace = new BodyPace(limits);
  const form = pace.iterate(request.parts(), (p) => (p.type === "field" ? String(p.value).length : 0));
  for await (const part of form) {
    if (++parts > limits.maxParts) throw tooManyParts(limits);
    if (part.type === "field") {
      if (part.fieldname === "profile")
        yield { contentType: "application/json", data: Buffer.from(String(part.value)) };
      continue;
    }
    const collector = new PartCollector(limits.maxPartBytes, () => partTooLarge(limits), limits.admission);
    for await (const chunk of pace.iterate<Buffer>(part.file, chunkSize)) {
      total += chunk.length;
      if (total > limits.maxRequestBytes) throw requestTooLarge(limits);
      collector.add(chunk);
    }
    if (part.file.truncated) throw partTooLarge(limits);
    yield { contentType: part.fieldname === "profile" ? "application/json" : DICOM, data: collector.take() };
  }
}
