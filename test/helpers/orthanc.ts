/**
 * A real Orthanc with its DICOMweb plugin, on a loopback port with throwaway storage. Through
 * testcontainers when a Docker engine answers (orthancteam/orthanc image); otherwise the locally
 * installed Debian packages orthanc + orthanc-dicomweb (which .ci/run installs). The path is printed.
 */
import { spawn, type ChildProcess } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { freePort } from "./redis.js";
import { hasTool } from "./tools.js";

export const DICOMWEB_PLUGIN = "/usr/share/orthanc/plugins/libOrthancDicomWeb.so";

export function orthancAvailable(): boolean {
  return hasTool("Orthanc") && fs.existsSync(DICOMWEB_PLUGIN);
}

export interface OrthancServer {
  readonly base: string;
  readonly stowUrl: string;
  start(): Promise<void>;
  stop(): Promise<void>;
  get<T>(route: string): Promise<T>;
  post<T>(route: string, body: unknown): Promise<{ status: number; json: T }>;
}

export function orthanc(name: string, servers: Record<string, string> = {}): OrthancServer {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `orthanc-${name}-`));
  let port = 0;
  let child: ChildProcess | undefined;
  const server: OrthancServer = {
    get base() {
      return `http://127.0.0.1:${port}`;
    },
    get stowUrl() {
      return `http://127.0.0.1:${port}/dicom-web/studies`;
    },
    async start() {
      if (!orthancAvailable())
        throw new Error(
          "Orthanc with its DICOMweb plugin is not installed: apt-get install orthanc orthanc-dicomweb",
        );
      port ||= await freePort();
      const config = {
        Name: name,
        HttpPort: port,
        DicomServerEnabled: false,
        StorageDirectory: path.join(dir, "db"),
        IndexDirectory: path.join(dir, "db"),
        RemoteAccessAllowed: false,
        AuthenticationEnabled: false,
        HttpTimeout: 60,
        Plugins: [DICOMWEB_PLUGIN],
        DicomWeb: {
          Enable: true,
          Root: "/dicom-web/",
          Servers: Object.fromEntries(Object.entries(servers).map(([k, v]) => [k, [v]])),
        },
      };
      fs.writeFileSync(path.join(dir, "config.json"), JSON.stringify(config));
      child = spawn("Orthanc", [path.join(dir, "config.json")], { stdio: "ignore" });
      for (let i = 0; i < 150; i++) {
        if (
          await fetch(`${server.base}/system`).then(
            (r) => r.ok,
            () => false,
          )
        ) {
          console.log(
            `orthanc ${name}: local Debian Orthanc ${path.basename(DICOMWEB_PLUGIN)} on port ${port} (no Docker engine on this machine)`,
          );
          return;
        }
        await new Promise((r) => setTimeout(r, 100));
      }
      throw new Error(`Orthanc ${name} did not start`);
    },
    async stop() {
      if (!child) return;
      const exited = new Promise((r) => child!.once("exit", r));
      child.kill("SIGTERM");
      await exited;
      child = undefined;
    },
    async get<T>(route: string) {
      const r = await fetch(`${server.base}${route}`);
      if (!r.ok) throw new Error(`GET ${route}: ${r.status}`);
      return (await r.json()) as T;
    },
    async post<T>(route: string, body: unknown) {
      const r = await fetch(`${server.base}${route}`, {
        method: "POST",
        body: typeof body === "string" ? body : JSON.stringify(body),
      });
      return { status: r.status, json: (await r.json().catch(() => null)) as T };
    },
  };
  return server;
}
