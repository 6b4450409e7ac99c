/**
 * Baseline: Orthanc's REST /anonymize (Debian orthanc), the way the issue measured it: the instances
 * are stored first (not timed), then `clients` keep-alive clients each ask for one anonymized
 * instance at a time (POST /instances/{id}/anonymize returns the file).
 */
import { spawn, spawnSync } from "node:child_process";
import fs from "node:fs";
import http from "node:http";
import os from "node:os";
import path from "node:path";
import { freePort } from "./net.js";

export function orthancInstalled(): boolean {
  return spawnSync("sh", ["-c", "command -v Orthanc"]).status === 0;
}

function request(
  agent: http.Agent,
  port: number,
  method: string,
  route: string,
  body: Buffer | string,
): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      {
        agent,
        host: "127.0.0.1",
        port,
        method,
        path: route,
        headers: { "content-length": Buffer.byteLength(body) },
      },
      (res) => {
        const parts: Buffer[] = [];
        res.on("data", (c: Buffer) => parts.push(c));
        res.on("end", () =>
          res.statusCode === 200
            ? resolve(Buffer.concat(parts))
            : reject(new Error(`Orthanc ${route}: ${res.statusCode}`)),
        );
      },
    );
    req.on("error", reject);
    req.end(body);
  });
}

export async function measureOrthancAnonymize(
  files: readonly string[],
  clients: number,
): Promise<{ seconds: number; maxRssMb: number }> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "bench-orthanc-"));
  const port = await freePort();
  fs.writeFileSync(
    path.join(dir, "config.json"),
    JSON.stringify({
      Name: "bench",
      HttpPort: port,
      DicomServerEnabled: false,
      StorageDirectory: dir,
      IndexDirectory: dir,
      RemoteAccessAllowed: false,
      AuthenticationEnabled: false,
      HttpThreadsCount: 4,
    }),
  );
  const child = spawn("Orthanc", [path.join(dir, "config.json")], { stdio: "ignore" });
  const agent = new http.Agent({ keepAlive: true, maxSockets: clients });
  try {
    for (let i = 0; i < 150; i++) {
      if (
        await fetch(`http://127.0.0.1:${port}/system`).then(
          (r) => r.ok,
          () => false,
        )
      )
        break;
      await new Promise((r) => setTimeout(r, 100));
    }
    const ids: string[] = [];
    for (const f of files)
      ids.push(
        (
          JSON.parse((await request(agent, port, "POST", "/instances", fs.readFileSync(f))).toString()) as {
            ID: string;
          }
        ).ID,
      );
    await Promise.all(
      ids.slice(0, clients).map((id) => request(agent, port, "POST", `/instances/${id}/anonymize`, "{}")),
    );
    let next = 0;
    const started = performance.now();
    await Promise.all(
      Array.from({ length: clients }, async () => {
        while (next < ids.length)
          await request(agent, port, "POST", `/instances/${ids[next++]}/anonymize`, "{}");
      }),
    );
    const seconds = (performance.now() - started) / 1000;
    const status = fs.readFileSync(`/proc/${child.pid}/status`, "utf8");
    return { seconds, maxRssMb: Number(/VmHWM:\s+(\d+) kB/.exec(status)?.[1] ?? 0) / 1024 };
  } finally {
    agent.destroy();
    child.kill("SIGTERM");
    await new Promise((r) => child.once("exit", r));
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
