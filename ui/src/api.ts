/** The service's HTTP API as the review page uses it. The bearer token lives in sessionStorage only. */

const TOKEN_KEY = "dwanon.token";

export const token = {
  get: (): string | null => sessionStorage.getItem(TOKEN_KEY),
  set: (value: string) => sessionStorage.setItem(TOKEN_KEY, value),
  clear: () => sessionStorage.removeItem(TOKEN_KEY),
};

/** A problem+json answer (or any failed request), with the server's detail as the message. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

export async function call(url: string, init: RequestInit = {}): Promise<Response> {
  const headers = new Headers(init.headers);
  const t = token.get();
  if (t) headers.set("authorization", `Bearer ${t}`);
  const res = await fetch(url, { ...init, headers });
  if (!res.ok) {
    let message = `${res.status} ${res.statusText}`;
    try {
      const body = (await res.json()) as { title?: string; detail?: string };
      message = body.detail ?? body.title ?? message;
    } catch {
      // not JSON: the status line says it
    }
    throw new ApiError(res.status, message);
  }
  return res;
}

export const json = async <T>(url: string, init?: RequestInit): Promise<T> =>
  (await (await call(url, init)).json()) as T;

export interface ProfileSummary {
  name: string;
  description?: string;
  ruleCount: number;
}

export interface InstanceInfo {
  index: number;
  sopInstanceUID: string;
  sopClassUID: string;
  modality: string;
  bytes: number;
}

export interface Session {
  id: string;
  state: "open" | "applied" | "committed";
  profile: { name: string } | null;
  instances: InstanceInfo[];
  expiresAt: string;
}

export interface Change {
  path: string;
  tag: string;
  keyword: string | null;
  vr: string;
  action: string;
  before?: string | null;
  after: string | null;
  reason?: string;
}

export interface AuditInstance {
  index: number;
  status: "anonymized" | "failed";
  sopInstanceUID?: string;
  reason?: string;
  changes: Change[];
}

export interface Audit {
  profile: { name: string; version: string; rules: number };
  instances: AuditInstance[];
  summary: { total: number; anonymized: number; failed: number; changes: number };
  changesByAction?: Record<string, number>;
  /** Previews under a profile with a pixel step: the boxes per scanned instance and frame. */
  pixel?: {
    instances: Array<{
      index: number;
      boxes: Array<{
        frame: number;
        x: number;
        y: number;
        width: number;
        height: number;
        source: "template" | "detector";
      }>;
    }>;
  };
}

export type DicomJson = Record<
  string,
  { vr: string; Value?: unknown[]; InlineBinary?: string; BulkDataURI?: string }
>;

/** A STOW-RS answer (DICOM JSON): the referenced (stored) and failed SOP sequences. */
export type StowResponse = Record<string, { vr: string; Value?: unknown[] } | undefined>;

/** Counts of a STOW-RS answer: instances the destination stored, and those it refused. */
export function stowCounts(r: StowResponse | StowResponse[]): { stored: number; failed: number } {
  const root = Array.isArray(r) ? r[0] : r;
  return {
    stored: root?.["00081199"]?.Value?.length ?? 0,
    failed: root?.["00081198"]?.Value?.length ?? 0,
  };
}

/** A profile choice: a built-in name, or the JSON text of a custom profile. */
export type ProfileChoice = { name: string } | { custom: string };

export const label = (p: ProfileChoice) => ("name" in p ? p.name : "custom");

const withProfile = (url: string, p: ProfileChoice, method: string): [string, RequestInit] =>
  "name" in p
    ? [`${url}?profile=${encodeURIComponent(p.name)}`, { method }]
    : [url, { method, body: p.custom, headers: { "content-type": "application/json" } }];

export const api = {
  profiles: () => json<{ profiles: ProfileSummary[]; default: string }>("/profiles"),
  create: (files: File[]) => {
    const form = new FormData();
    for (const f of files) form.append("file", f, f.name);
    return json<Session & { rejected: Array<{ index: number; reason: string }> }>("/sessions", {
      method: "POST",
      body: form,
    });
  },
  session: (id: string) => json<Session>(`/sessions/${id}`),
  preview: (id: string, p: ProfileChoice) =>
    json<Audit>(...withProfile(`/sessions/${id}/preview`, p, "name" in p ? "GET" : "POST")),
  apply: (id: string, p: ProfileChoice) =>
    json<{ session: Session; audit: Audit }>(...withProfile(`/sessions/${id}/apply`, p, "POST")),
  revert: (id: string) => json<Session>(`/sessions/${id}/revert`, { method: "POST" }),
  header: async (id: string, index: number, version: "original" | "staged") =>
    (
      await json<DicomJson[]>(`/sessions/${id}/instances/${index}?version=${version}`, {
        headers: { accept: "application/dicom+json" },
      })
    )[0]!,
  commit: async (id: string) =>
    (await call(`/sessions/${id}/commit`, { method: "POST", headers: { accept: "application/zip" } })).blob(),
  forward: (id: string) =>
    json<StowResponse>(`/sessions/${id}/commit?destination=default`, {
      method: "POST",
      headers: { accept: "application/dicom+json" },
    }),
  remove: (id: string) => call(`/sessions/${id}`, { method: "DELETE" }),
  rendered: async (id: string, index: number, frame: number, version: "original" | "staged") =>
    (
      await call(`/sessions/${id}/instances/${index}/frames/${frame}/rendered?version=${version}`, {
        headers: { accept: "image/png" },
      })
    ).blob(),
};
