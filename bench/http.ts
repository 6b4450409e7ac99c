/**
 * End-to-end HTTP measurement: POST /anonymize over loopback against a server process, with
 * `concurrency` clients each posting one instance at a time (application/dicom in, instances-only
 * multipart/related out). Returns wall seconds for all files and the server's peak RSS.
 */
import { spawn } from "node:child_process";
import fs from "node:fs";
import http from "node:http";
import { freePort } from "./net.js";

function post(agent: http.Agent, port: number, body: Buffer): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      {
        agent,
        host: "127.0.0.1",
        port,
        method: "POST",
        path: "/anonymize?profile=hipaa",
        headers: {
          "content-type": "application/dicom",
          "content-length": body.length,
          accept: 'multipart/related; type="application/dicom"',
        },
      },
      (res) => {
        res.resume();
        res.on("end", () =>
          res.statusCode === 200 ? resolve(res.statusCode) : reject(new Error(`status ${res.statusCode}`)),
        );
      },
    );
    req.on("error", reject);
    req.end(body);
  });
}

export async function measureHttp(
  server: string,
  files: readonly string[],
  concurrency: number,
  workers: string | undefined,
  warmUp = true,
): Promise<{ seconds: number; maxRssMb: number }> {
  const port = await freePort();
  const child = spawn(process.execPath, [server], {
    env: {
      ...process.env,
      PORT: String(port),
      UID_SECRET: "bench",
      LOG_LEVEL: "warn",
      ...(workers ? { WORKERS: workers } : {}),
    },
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
    const bodies = files.map((f) => fs.readFileSync(f));
    const agent = new http.Agent({ keepAlive: true, maxSockets: concurrency });
    // Warm-up: JIT and worker start are not what we measure.
    if (warmUp) await Promise.all(bodies.slice(0, concurrency * 2).map((b) => post(agent, port, b)));
    let next = 0;
    const started = performance.now();
    await Promise.all(
      Array.from({ length: concurrency }, async () => {
        while (next < bodies.length) await post(agent, port, bodies[next++]!);
      }),
    );
    const seconds = (performance.now() - started) / 1000;
    agent.destroy();
    const status = fs.readFileSync(`/proc/${child.pid}/status`, "utf8");
    return { seconds, maxRssMb: Number(/VmHWM:\s+(\d+) kB/.exec(status)?.[1] ?? 0) / 1024 };
  } finally {
    child.kill("SIGTERM");
  }
}
