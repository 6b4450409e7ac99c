/**
 * dicomweb-anonymizer job: submits a job to a running service (POST /jobs) and follows it with a
 * progress bar (GET /jobs/{id}) until it ends. Exit status: 0 completed, 1 failed or cancelled,
 * 2 on a usage error or when the service refuses the job.
 */
import { parseArgs } from "node:util";

export const JOB_USAGE = `usage: dicomweb-anonymizer job --source <name> (--study <uid>... [--series <uid>] | --query <attr=value>...)
       | --session <id>   [--profile <name>] [--destination <name>] [--server <url>] [--token <token>]

  --source       a source named in the service's SOURCES (QIDO-RS / WADO-RS)
  --study        a Study Instance UID (repeat for several); --series narrows one study to a series
  --query        a QIDO-RS match (repeatable), e.g. --query PatientID=123
  --session      an existing session's instances instead of a DICOMweb source
  --profile      the profile (default: the service's DEFAULT_PROFILE)
  --destination  a destination named in the service's configuration (default: "default")
  --server       the service's base URL (default: http://127.0.0.1:8080)
  --token        a bearer token, when the service has API_TOKENS
  --no-follow    print the job's URL and return at once`;

interface Status {
  state: string;
  counts: { total: number; done: number; failed: number; skipped: number };
  rate: number;
  eta: number | null;
  failures: Array<{
    study?: string;
    series?: string;
    sopInstanceUID?: string;
    index?: number;
    reason: string;
  }>;
}

export async function runRemoteJob(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      source: { type: "string" },
      study: { type: "string", multiple: true },
      series: { type: "string" },
      query: { type: "string", multiple: true },
      session: { type: "string" },
      profile: { type: "string" },
      destination: { type: "string" },
      server: { type: "string", default: "http://127.0.0.1:8080" },
      token: { type: "string" },
      "no-follow": { type: "boolean", default: false },
      help: { type: "boolean", short: "h", default: false },
    },
  });
  if (values.help) {
    console.log(JOB_USAGE);
    return 0;
  }
  let source: Record<string, unknown>;
  if (values.session && !values.source) source = { session: values.session };
  else if (values.source && values.study && values.study.length > 0)
    source =
      values.study.length === 1
        ? { name: values.source, study: values.study[0], ...(values.series ? { series: values.series } : {}) }
        : { name: values.source, studies: values.study };
  else if (values.source && values.query && values.query.length > 0) {
    const query: Record<string, string> = {};
    for (const q of values.query) {
      const eq = q.indexOf("=");
      if (eq <= 0) {
        console.error("--query takes attribute=value");
        return 2;
      }
      query[q.slice(0, eq)] = q.slice(eq + 1);
    }
    source = { name: values.source, query };
  } else {
    console.error(JOB_USAGE);
    return 2;
  }
  const base = values.server.replace(/\/+$/, "");
  const headers: Record<string, string> = { "content-type": "application/json" };
  if (values.token) headers.authorization = `Bearer ${values.token}`;
  const submitted = await fetch(`${base}/jobs`, {
    method: "POST",
    headers,
    body: JSON.stringify({
      source,
      ...(values.profile ? { profile: values.profile } : {}),
      ...(values.destination ? { destination: values.destination } : {}),
    }),
  });
  if (submitted.status !== 202) {
    const problem = (await submitted.json().catch(() => ({}))) as { detail?: string };
    console.error(`the service refused the job (${submitted.status}): ${problem.detail ?? ""}`);
    return 2;
  }
  const location = submitted.headers.get("location")!;
  const accepted = (await submitted.json().catch(() => ({}))) as { mappingToken?: string };
  console.log(`job: ${base}${location}`);
  // MAPPING_EXPORT=on: the only time the token is shown (it reads the re-identifying mapping).
  if (accepted.mappingToken) console.log(`mapping token: ${accepted.mappingToken}`);
  if (values["no-follow"]) return 0;

  const tty = process.stderr.isTTY;
  let status: Status;
  for (;;) {
    const r = await fetch(`${base}${location}`, { headers });
    if (!r.ok) {
      console.error(`GET ${location}: ${r.status}`);
      return 2;
    }
    status = (await r.json()) as Status;
    if (tty) process.stderr.write(`\r${bar(status)}`);
    if (!["queued", "running"].includes(status.state)) break;
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
  if (tty) process.stderr.write("\n");
  const c = status.counts;
  console.log(
    `${status.state}: ${c.done} done, ${c.failed} failed, ${c.skipped} skipped of ${c.total} (${status.rate} instances/s)`,
  );
  for (const f of status.failures)
    console.log(
      `  failed: ${[f.study, f.series, f.sopInstanceUID, f.index].filter((x) => x !== undefined).join(" / ")}: ${f.reason}`,
    );
  return status.state === "completed" ? 0 : 1;
}

function bar(s: Status): string {
  const width = 30;
  const c = s.counts;
  const finished = c.done + c.failed + c.skipped;
  const filled = c.total > 0 ? Math.min(width, Math.round((finished / c.total) * width)) : 0;
  const eta = s.eta !== null ? `, ETA ${s.eta} s` : "";
  return `[${"#".repeat(filled)}${" ".repeat(width - filled)}] ${finished}/${c.total}, ${c.failed} failed, ${s.rate}/s${eta} (${s.state})   `;
}
