/** WADO-RS retrieve of one instance from a source, against a real HTTP server answering in several shapes. */
import http from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { SourceClient, SourceError } from "../../../src/dicomweb/source-client.js";

const INSTANCE = Buffer.concat([
  Buffer.alloc(128),
  Buffer.from("DICM"),
  // Bytes that look like the boundary, but not after a line break: they are data.
  Buffer.from("--b1 inside the data\r\n\r\n"),
  Buffer.alloc(3000, 7),
]);

type Answer = (res: http.ServerResponse, req: http.IncomingMessage) => void;
let answer: Answer = () => {};
let server: http.Server;
let client: SourceClient;

beforeAll(async () => {
  server = http.createServer((req, res) => answer(res, req));
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/dicom-web`;
  const authHeader = "Authorization: Bearer s3cret-token";
  client = new SourceClient({ name: "src", url, authHeader, timeoutMs: 5000, minBytesPerSecond: 0 }, 4096);
});
afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

function multipart(parts: Buffer[], closing = true): Buffer {
  const chunks: Buffer[] = [];
  for (const p of parts)
    chunks.push(Buffer.from("--b1\r\nContent-Type: application/dicom\r\n\r\n"), p, Buffer.from("\r\n"));
  if (closing) chunks.push(Buffer.from("--b1--\r\n"));
  return Buffer.concat(chunks);
}

function send(type: string, body: Buffer, chunk = 500): Answer {
  return (res) => {
    res.writeHead(200, { "content-type": type });
    // In small writes, so the reader sees the boundary split across chunks.
    for (let o = 0; o < body.length; o += chunk) res.write(body.subarray(o, o + chunk));
    res.end();
  };
}

async function retrieveError(): Promise<SourceError> {
  const error = await client.retrieve("1.2", "1.3", "1.4").then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(SourceError);
  return error as SourceError;
}

describe("SourceClient.retrieve", () => {
  it("returns the one part of a multipart/related answer, boundary-like bytes inside the data kept", async () => {
    answer = send('multipart/related; type="application/dicom"; boundary=b1', multipart([INSTANCE]), 7);
    expect(Buffer.compare(await client.retrieve("1.2", "1.3", "1.4"), INSTANCE)).toBe(0);
  });

  it("sends the endpoint's auth header line as a header", async () => {
    let seen: string | undefined;
    answer = (res, req) => {
      seen = req.headers.authorization;
      send("application/dicom", INSTANCE)(res, req);
    };
    await client.retrieve("1.2", "1.3", "1.4");
    expect(seen).toBe("Bearer s3cret-token");
  });

  it("takes a quoted boundary", async () => {
    answer = send('multipart/related; type="application/dicom"; boundary="b1"', multipart([INSTANCE]));
    expect(Buffer.compare(await client.retrieve("1.2", "1.3", "1.4"), INSTANCE)).toBe(0);
  });

  it("returns a bare application/dicom body as it is", async () => {
    answer = send("application/dicom", INSTANCE);
    expect(Buffer.compare(await client.retrieve("1.2", "1.3", "1.4"), INSTANCE)).toBe(0);
  });

  it("refuses an instance over the size limit, as a permanent failure of that instance", async () => {
    answer = send(
      'multipart/related; type="application/dicom"; boundary=b1',
      multipart([Buffer.alloc(5000)]),
    );
    const error = await retrieveError();
    expect(error.message).toBe("source instance larger than MAX_PART_BYTES");
    expect(error.permanent).toBe(true);
    answer = send("application/dicom", Buffer.alloc(5000));
    expect((await retrieveError()).message).toBe("source instance larger than MAX_PART_BYTES");
  });

  it("refuses a multipart answer that never closes, or has no part, or has no boundary", async () => {
    answer = send('multipart/related; type="application/dicom"; boundary=b1', multipart([INSTANCE], false));
    expect((await retrieveError()).message).toBe("source answered WADO-RS with a malformed body");
    answer = send('multipart/related; type="application/dicom"; boundary=b1', Buffer.from("--b1--\r\n"));
    expect((await retrieveError()).message).toMatch(/malformed body|no instance part/);
    answer = send('multipart/related; type="application/dicom"', multipart([INSTANCE]));
    expect((await retrieveError()).message).toBe("source answered WADO-RS without a boundary");
  });

  it("a connection cut while the body arrives is a transient failure (retried), not a permanent one", async () => {
    answer = (res) => {
      res.writeHead(200, { "content-type": 'multipart/related; type="application/dicom"; boundary=b1' });
      res.write(multipart([INSTANCE]).subarray(0, 1000));
      setTimeout(() => res.destroy(), 20);
    };
    const error = await retrieveError();
    expect(error.permanent).toBe(false);
  });
});
