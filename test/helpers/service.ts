/** The service as a separate process (dist/src/server.js) on a free loopback port, ready to serve. */
import { spawn, type ChildProcess } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { ROOT } from "./corpus.js";
import { freePort } from "./redis.js";

export const SERVER = path.join(ROOT, "dist/src/server.js");

export interface ServiceProcess {
  readonly base: string;
  readonly child: ChildProcess;
}

export async function startService(env: Record<string, string>): Promise<ServiceProcess> {
  if (!fs.existsSync(SERVER)) throw new Error(`${SERVER} is missing: run "npm run build" first`);
  const port = await freePort();
  const child = spawn(process.execPath, [SERVER], {
    env: {
      ...process.env,
      PORT: String(port),
      HOST: "127.0.0.1",
      UID_SECRET: "test",
      WORKERS: "1",
      LOG_LEVEL: "warn",
      ...env,
    },
    stdio: "ignore",
  });
  const base = `http://127.0.0.1:${port}`;
  for (let i = 0; i < 150; i++) {
    if (
      await fetch(`${base}/readyz`).then(
        (r) => r.ok,
        () => false,
      )
    )
      return { base, child };
    await new Promise((r) => setTimeout(r, 100));
  }
  child.kill("SIGTERM");
  throw new Error("the service did not become ready");
}
