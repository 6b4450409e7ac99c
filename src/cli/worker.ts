/** Worker thread: runs FileJobs for the CLI's pool. */
import { parentPort, workerData } from "node:worker_threads";
import { FileJob, loadPlan, type JobSettings } from "./job.js";

const settings = workerData as JobSettings;
const job = new FileJob(
  loadPlan(settings.profile, settings.profilesDir),
  Buffer.from(settings.secretHex, "hex"),
  settings.outDir,
  settings.withChanges,
);

parentPort!.on("message", (task: { index: number; source: string }) => {
  const result = job.run(task.index, task.source);
  if (result instanceof Promise) void result.then((r) => parentPort!.postMessage(r));
  else parentPort!.postMessage(result);
});
