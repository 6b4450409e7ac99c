/** Worker thread: runs FileJobs for the CLI's pool. */
import { parentPort, workerData } from "node:worker_threads";
import { remoteDetector } from "../pixel/detector-remote.js";
import { FileJob, loadPlan } from "./job.js";
import type { WorkerSettings } from "./pool.js";

const settings = workerData as WorkerSettings;
const job = new FileJob(
  loadPlan(settings.profile, settings.profilesDir),
  Buffer.from(settings.secretHex, "hex"),
  settings.outDir,
  settings.withChanges,
  settings.detectorPort && remoteDetector(settings.detectorPort, settings.detectorThreads),
);

parentPort!.on("message", (task: { index: number; source: string }) => {
  const result = job.run(task.index, task.source);
  if (result instanceof Promise) void result.then((r) => parentPort!.postMessage(r));
  else parentPort!.postMessage(result);
});
