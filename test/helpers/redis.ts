/**
 * A real redis-server for the tests, on a free loopback port with no persistence. Through
 * testcontainers when a Docker engine answers; otherwise the locally installed redis-server (Debian
 * package redis-server, which .ci/run installs). The path taken is printed.
 */
import { spawn, type ChildProcess } from "node:child_process";
import net from "node:net";
import { hasTool } from "./tools.js";

export interface RedisServer {
  readonly url: string;
  stop(): Promise<void>;
}

export async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = net.createServer().listen(0, "127.0.0.1", () => {
      const p = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(p));
    });
  });
}

async function dockerAnswers(): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect("/var/run/docker.sock");
    socket.once("connect", () => {
      socket.destroy();
      resolve(true);
    });
    socket.once("error", () => resolve(false));
  });
}

export function redisAvailable(): boolean {
  return hasTool("redis-server");
}

export async function startRedis(): Promise<RedisServer> {
  if (await dockerAnswers()) {
    const { GenericContainer } = await import("testcontainers");
    const container = await new GenericContainer("redis:7-alpine").withExposedPorts(6379).start();
    console.log("redis: testcontainers (Docker engine found)");
    return {
      url: `redis://${container.getHost()}:${container.getMappedPort(6379)}`,
      stop: async () => void (await container.stop()),
    };
  }
  if (!redisAvailable())
    throw new Error(
      "redis-server is not installed and no Docker engine answers: apt-get install redis-server",
    );
  console.log("redis: local redis-server (no Docker engine on this machine)");
  const port = await freePort();
  const child: ChildProcess = spawn(
    "redis-server",
    ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
    { stdio: "ignore" },
  );
  for (let i = 0; i < 100; i++) {
    const up = await new Promise<boolean>((resolve) => {
      const s = net.connect(port, "127.0.0.1");
      s.once("connect", () => {
        s.destroy();
        resolve(true);
      });
      s.once("error", () => resolve(false));
    });
    if (up) break;
    await new Promise((r) => setTimeout(r, 50));
  }
  return {
    url: `redis://127.0.0.1:${port}`,
    stop: async () => {
      child.kill("SIGTERM");
      await new Promise((r) => child.once("exit", r));
    },
  };
}

/**
 * A local redis-server that can be stopped and started again on the same port with its data kept
 * (append-only file in a temporary directory): for the outage tests. Needs the redis-server binary.
 */
export interface RestartableRedis extends RedisServer {
  start(): Promise<void>;
}

export async function restartableRedis(): Promise<RestartableRedis> {
  const fs = await import("node:fs");
  const os = await import("node:os");
  const path = await import("node:path");
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "redis-outage-"));
  const port = await freePort();
  let child: ChildProcess | undefined;
  const up = () =>
    new Promise<boolean>((resolve) => {
      const s = net.connect(port, "127.0.0.1");
      s.once("connect", () => {
        s.destroy();
        resolve(true);
      });
      s.once("error", () => resolve(false));
    });
  const server: RestartableRedis = {
    url: `redis://127.0.0.1:${port}`,
    async start() {
      child = spawn(
        "redis-server",
        [
          ...["--port", String(port), "--bind", "127.0.0.1", "--dir", dir, "--save", ""],
          ...["--appendonly", "yes", "--appendfsync", "always"],
        ],
        { stdio: "ignore" },
      );
      for (let i = 0; i < 100 && !(await up()); i++) await new Promise((r) => setTimeout(r, 50));
    },
    async stop() {
      if (!child) return;
      const exited = new Promise((r) => child!.once("exit", r));
      child.kill("SIGTERM");
      await exited;
      child = undefined;
    },
  };
  await server.start();
  return server;
}
