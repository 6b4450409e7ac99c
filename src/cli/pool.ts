/**
 * Runs FileJobs on N worker threads (or inline for N = 1), yielding results as they finish. When the
 * profile runs the text detector, the detection goes to a detector pool shared by the job threads
 * (src/pixel/detector-pool.ts), so one cine's frames are detected on every core.
 */
import { Worker, type MessagePort } from "node:worker_threads";
import { DetectorPool, type DetectorChannel } from "../pixel/detector-pool.js";
import { remoteDetector } from "../pixel/detector-remote.js";
import type { Plan } from "../engine/plan.js";
import { FileJob, type FileResult, type JobSettings } from "./job.js";

/** Settings of a job thread: its end of a detector channel travels with them. */
export interface WorkerSettings extends JobSettings {
  readonly detectorPort?: MessagePort;
}

export async function runJobs(
  files: readonly string[],
  settings: JobSettings,
  jobs: number,
  onResult: (result: FileResult) => void,
  /** The plan of settings.profile, loaded once by the caller (workers load their own). */
  plan: Plan,
): Promise<void> {
  const detectors =
    plan.pixel?.detector && settings.detectorThreads > 0
      ? new DetectorPool(settings.detectorThreads)
      : undefined;
  const channels: DetectorChannel[] = [];
  const channel = (): DetectorChannel | undefined => {
    const c = detectors?.open();
    if (c) channels.push(c);
    return c;
  };
  try {
    if (jobs <= 1 || files.length <= 1) {
      const c = channel();
      const remote = c && remoteDetector(c.port, settings.detectorThreads);
      const job = new FileJob(
        plan,
        Buffer.from(settings.secretHex, "hex"),
        settings.outDir,
        settings.withChanges,
        remote,
      );
      try {
        for (let index = 0; index < files.length; index++) {
          const result = job.run(index, files[index]!);
          onResult(result instanceof Promise ? await result : result);
        }
      } finally {
        remote?.close();
      }
      return;
    }
    await inWorkers(files, settings, jobs, onResult, channel);
  } finally {
    for (const c of channels) c.close();
    await detectors?.close();
  }
}

function inWorkers(
  files: readonly string[],
  settings: JobSettings,
  jobs: number,
  onResult: (result: FileResult) => void,
  channel: () => DetectorChannel | undefined,
): Promise<unknown> {
  const workerUrl = new URL("./worker.js", import.meta.url);
  let next = 0;
  return Promise.all(
    Array.from(
      { length: Math.min(jobs, files.length) },
      () =>
        new Promise<void>((resolve, reject) => {
          const c = channel();
          const workerData: WorkerSettings = { ...settings, detectorPort: c?.port };
          const worker = new Worker(workerUrl, { workerData, transferList: c ? [c.port] : [] });
          const feed = () => {
            if (next >= files.length) {
              void worker.terminate().then(() => resolve());
              return;
            }
            const index = next++;
            worker.postMessage({ index, source: files[index] });
          };
          worker.on("message", (result: FileResult) => {
            onResult(result);
            feed();
          });
          worker.on("error", reject);
          worker.once("online", feed);
        }),
    ),
  );
}
