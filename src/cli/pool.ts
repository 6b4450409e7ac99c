/** Runs FileJobs on N worker threads (or inline for N = 1), yielding results as they finish. */
import { Worker } from "node:worker_threads";
import { FileJob, loadPlan, type FileResult, type JobSettings } from "./job.js";

export async function runJobs(
  files: readonly string[],
  settings: JobSettings,
  jobs: number,
  onResult: (result: FileResult) => void,
): Promise<void> {
  if (jobs <= 1 || files.length <= 1) {
    const job = new FileJob(
      loadPlan(settings.profile, settings.profilesDir),
      Buffer.from(settings.secretHex, "hex"),
      settings.outDir,
      settings.withChanges,
    );
    for (let index = 0; index < files.length; index++) {
      const result = job.run(index, files[index]!);
      onResult(result instanceof Promise ? await result : result);
    }
    return;
  }
  const workerUrl = new URL("./worker.js", import.meta.url);
  let next = 0;
  await Promise.all(
    Array.from(
      { length: Math.min(jobs, files.length) },
      () =>
        new Promise<void>((resolve, reject) => {
          const worker = new Worker(workerUrl, { workerData: settings });
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
