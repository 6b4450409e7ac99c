/**
 * Streamed vs buffered POST /anonymize: one multipart/related upload of `count` ~`frames`-frame
 * 512x512 instances (~100 MB each at 200 frames; 20 of them is ~2 GB), read from disk as it is sent,
 * against a fresh server process per mode. Prints the server's peak RSS (VmHWM), the wall time, and
 * when the first response byte arrived relative to the end of the upload.
 *
 *   npm run build && node dist/bench/stream.js [--count 20] [--frames 200]
 */
import { spawn } from "node:child_process";
import fs from "node:fs";
import http from "node:http";
import os from "node:os";
import path from "node:path";
import { freePort } from "./net.js";
import { writeCtSeries } from "./synthetic.js";

const args = process.argv.slice(2);
const arg = (name: string, fallback: number) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? Number(args[i + 1]) : fallback;
};
const count = arg("count", 20);
const frames = arg("frames", 200);
const BOUNDARY = "bench-stream-boundary";

interface Row {
  mode: string;
  status: number;
  seconds: number;
  firstByteS: number;
  uploadDoneS: number;
  bytesOut: number;
  peakRssMb: number;
  summary: string;
}

async function run(files: string[], stream: boolean): Promise<Row> {
  const port = await freePort();
  const child = spawn(process.execPath, [path.resolve("dist/src/server.js")], {
    env: { ...process.env, PORT: String(port), HOST: "127.0.0.1", UID_SECRET: "bench", LOG_LEVEL: "warn" },
    stdio: "ignore",
  });
  try {
    for (let i = 0; i < 100; i++) {
      if (
        await fetch(`http://127.0.0.1:${port}/readyz`).then(
          (r) => r.ok,
          () => false,
        )
      )
        break;
      await new Promise((r) => setTimeout(r, 100));
    }
    const started = performance.now();
    let firstByte = 0;
    let uploadDone = 0;
    const row = await new Promise<Omit<Row, "peakRssMb" | "mode">>((resolve, reject) => {
      const req = http.request(
        {
          host: "127.0.0.1",
          port,
          method: "POST",
          path: `/anonymize?profile=hipaa${stream ? "&stream=true" : ""}`,
          headers: {
            "content-type": `multipart/related; type="application/dicom"; boundary=${BOUNDARY}`,
            accept: 'multipart/related; type="application/dicom"',
          },
        },
        (res) => {
          let n = 0;
          res.on("data", (c: Buffer) => {
            if (n === 0) firstByte = performance.now();
            n += c.length;
          });
          res.on("end", () =>
            resolve({
              status: res.statusCode ?? 0,
              seconds: (performance.now() - started) / 1000,
              firstByteS: (firstByte - started) / 1000,
              uploadDoneS: (uploadDone - started) / 1000,
              bytesOut: n,
              summary: String(res.trailers["x-anonymizer-summary"] ?? res.headers["x-anonymizer-summary"]),
            }),
          );
          res.on("error", reject);
        },
      );
      req.on("error", reject);
      void (async () => {
        for (const f of files) {
          req.write(`--${BOUNDARY}\r\nContent-Type: application/dicom\r\n\r\n`);
          for await (const chunk of fs.createReadStream(f, { highWaterMark: 1 << 20 })) {
            if (!req.write(chunk)) await new Promise((r) => req.once("drain", r));
          }
          req.write("\r\n");
        }
        req.end(`--${BOUNDARY}--\r\n`, () => (uploadDone = performance.now()));
      })().catch(reject);
    });
    const status = fs.readFileSync(`/proc/${child.pid}/status`, "utf8");
    const peakRssMb = Number(/VmHWM:\s+(\d+) kB/.exec(status)?.[1] ?? 0) / 1024;
    return { mode: stream ? "streamed (?stream=true)" : "buffered (default)", peakRssMb, ...row };
  } finally {
    child.kill("SIGTERM");
  }
}

const dir = fs.mkdtempSync(path.join(fs.existsSync("/dev/shm") ? "/dev/shm" : os.tmpdir(), "bench-stream-"));
try {
  // One file, sent `count` times: the engine does the same work per part, and /dev/shm holds 100 MB, not 2 GB.
  const file = writeCtSeries(dir, { count: 1, rows: 512, columns: 512, frames })[0]!;
  const files = Array.from({ length: count }, () => file);
  const total = fs.statSync(file).size * count;
  console.log(
    `upload: ${count} x ${(fs.statSync(file).size / 1048576).toFixed(0)} MB = ${(total / 1048576).toFixed(0)} MB`,
  );
  console.log(
    "| mode | status | wall s | first byte s | upload done s | out MB | server peak RSS MB | summary |",
  );
  console.log("| --- | ---: | ---: | ---: | ---: | ---: | ---: | --- |");
  for (const stream of [true, false]) {
    const r = await run(files, stream);
    console.log(
      `| ${r.mode} | ${r.status} | ${r.seconds.toFixed(1)} | ${r.firstByteS.toFixed(1)} | ${r.uploadDoneS.toFixed(1)} | ${(r.bytesOut / 1048576).toFixed(0)} | ${r.peakRssMb.toFixed(0)} | ${r.summary} |`,
    );
  }
} finally {
  fs.rmSync(dir, { recursive: true, force: true });
}
