/**
 * A streaming reader of multipart/related bodies (RFC 2387, as STOW-RS uses them, PS3.18 8.6.1.2).
 * Parts are yielded as soon as they end, so the engine can start on the first instance while the
 * rest is still arriving. Boundary search is streamsearch (Boyer-Moore-Horspool), as busboy uses.
 */
import type { Readable } from "node:stream";
import StreamSearch from "streamsearch";
import {
  malformedMultipart,
  PartCollector,
  partTooLarge,
  requestTooLarge,
  tooManyParts,
  type UploadLimits,
  type UploadPart,
} from "./limits.js";
import { BodyPace, chunkSize } from "./pace.js";

const MAX_HEADER_BYTES = 16 * 1024;
const CRLF_CRLF = Buffer.from("\r\n\r\n");

type State = "preamble" | "afterDelimiter" | "headers" | "body" | "epilogue";

export async function* readMultipartRelated(
  stream: AsyncIterable<Buffer> & Readable,
  boundary: string,
  defaultType: string,
  limits: UploadLimits,
): AsyncGenerator<UploadPart> {
  let state: State = "preamble";
  let headerBytes = Buffer.alloc(0);
  let afterDelimiter = Buffer.alloc(0);
  let contentType = defaultType;
  let parts = 0;
  let total = 0;
  const newBody = () => new PartCollector(limits.maxPartBytes, () => partTooLarge(limits), limits.admission);
  let body = newBody();
  const ready: UploadPart[] = [];

  const onData = (data: Buffer): void => {
    let rest = data;
    while (rest.length > 0) {
      switch (state) {
        case "preamble":
        case "epilogue":
          return;
        case "afterDelimiter": {
          // "--" closes the body; otherwise optional transport padding, then CRLF, then headers.
          afterDelimiter = Buffer.concat([afterDelimiter, rest]);
          rest = Buffer.alloc(0);
          if (afterDelimiter.length < 2) return;
          if (afterDelimiter[0] === 0x2d && afterDelimiter[1] === 0x2d) {
            state = "epilogue";
            return;
          }
          const crlf = afterDelimiter.indexOf("\r\n");
          if (crlf < 0) {
            if (afterDelimiter.length > 256) throw malformedMultipart("no line break after a boundary");
            return;
          }
          if (afterDelimiter.subarray(0, crlf).toString("latin1").trim() !== "")
            throw malformedMultipart("text after a boundary");
          rest = afterDelimiter.subarray(crlf + 2);
          afterDelimiter = Buffer.alloc(0);
          state = "headers";
          headerBytes = Buffer.alloc(0);
          break;
        }
        case "headers": {
          headerBytes = Buffer.concat([headerBytes, rest]);
          rest = Buffer.alloc(0);
          const end = headerBytes.indexOf(CRLF_CRLF);
          const bare = headerBytes.length >= 2 && headerBytes[0] === 0x0d && headerBytes[1] === 0x0a;
          if (end < 0 && !bare) {
            if (headerBytes.length > MAX_HEADER_BYTES) throw malformedMultipart("part headers are too long");
            return;
          }
          const headerEnd = bare ? 0 : end;
          contentType =
            parseContentType(headerBytes.subarray(0, headerEnd).toString("latin1")) ?? defaultType;
          rest = headerBytes.subarray(bare ? 2 : end + 4);
          parts++;
          if (parts > limits.maxParts) throw tooManyParts(limits);
          state = "body";
          break;
        }
        case "body":
          body.add(rest);
          return;
      }
    }
  };

  const search = new StreamSearch(
    Buffer.from(`\r\n--${boundary}`),
    (isMatch, data, start, end, isSafeData) => {
      if (data && end > start) {
        const slice = data.subarray(start, end);
        onData(isSafeData ? slice : Buffer.from(slice));
      }
      if (isMatch) {
        if (state === "body") {
          ready.push({ contentType, data: body.take() });
          body = newBody();
        } else if (state === "headers") {
          throw malformedMultipart("a part ends inside its headers");
        }
        if (state !== "epilogue") {
          state = "afterDelimiter";
          afterDelimiter = Buffer.alloc(0);
        }
      }
    },
  );

  // The first boundary has no CRLF in front of it; give it one so one needle finds them all.
  search.push(Buffer.from("\r\n"));
  for await (const chunk of new BodyPace(limits).iterate<Buffer>(stream, chunkSize)) {
    total += chunk.length;
    if (total > limits.maxRequestBytes) throw requestTooLarge(limits);
    search.push(chunk);
    while (ready.length > 0) yield ready.shift()!;
  }
  if ((state as State) !== "epilogue")
    throw malformedMultipart(parts === 0 ? "no parts" : "the closing boundary is missing");
}

function parseContentType(headers: string): string | undefined {
  for (const line of headers.split("\r\n")) {
    const colon = line.indexOf(":");
    if (colon > 0 && line.slice(0, colon).trim().toLowerCase() === "content-type")
      return line.slice(colon + 1).trim();
  }
  return undefined;
}
