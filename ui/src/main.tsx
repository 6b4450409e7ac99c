/** The review page: files -> session -> preview (one or two profiles) -> apply / revert -> commit. */
import { render } from "preact";
import { useEffect, useMemo, useState } from "preact/hooks";
import {
  api,
  ApiError,
  label,
  stowCounts,
  token,
  type Audit,
  type DicomJson,
  type ProfileChoice,
  type ProfileSummary,
  type Session,
} from "./api";
import { boxesOf, Images } from "./images";
import { loadKeywords, PreviewTable, rowsOf, tagText, valueText } from "./table";
import "./style.css";

const SEED_EXAMPLE = '[{"id": "(0008,103E)", "act": "keep"}]';

function download(blob: Blob, name: string) {
  const a = document.createElement("a");
  a.href = URL.createObjectURL(blob);
  a.download = name;
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(a.href), 60_000);
}

function TokenForm(props: { refused: boolean; onSave: () => void }) {
  const [value, setValue] = useState("");
  return (
    <form
      class="token"
      onSubmit={(e) => {
        e.preventDefault();
        token.set(value.trim());
        props.onSave();
      }}
    >
      <p role="alert">
        {props.refused ? "The token was refused: enter a valid one." : "This service needs an API token."} It
        is kept for this tab only.
      </p>
      <label>
        API token{" "}
        <input
          type="password"
          autoComplete="off"
          value={value}
          onInput={(e) => setValue((e.target as HTMLInputElement).value)}
          required
        />
      </label>
      <button type="submit">Use token</button>
    </form>
  );
}

function ProfilePicker(props: {
  id: string;
  legend: string;
  profiles: ProfileSummary[];
  value: ProfileChoice | null;
  optional?: boolean;
  onChange: (p: ProfileChoice | null) => void;
}) {
  const selected = props.value === null ? "" : "name" in props.value ? props.value.name : "(custom)";
  const custom = props.value && "custom" in props.value ? props.value.custom : null;
  return (
    <fieldset class="picker">
      <legend>{props.legend}</legend>
      <label>
        profile{" "}
        <select
          id={`${props.id}-select`}
          value={selected}
          onChange={(e) => {
            const v = (e.target as HTMLSelectElement).value;
            props.onChange(
              v === "" ? null : v === "(custom)" ? { custom: custom ?? SEED_EXAMPLE } : { name: v },
            );
          }}
        >
          {props.optional && <option value="">none</option>}
          {props.profiles.map((p) => (
            <option key={p.name} value={p.name}>
              {p.name} ({p.ruleCount} rules)
            </option>
          ))}
          <option value="(custom)">custom…</option>
        </select>
      </label>
      {custom !== null && (
        <label class="custom">
          custom profile (JSON: the profile format, or the seed app's export)
          <textarea
            id={`${props.id}-custom`}
            rows={6}
            spellcheck={false}
            value={custom}
            onChange={(e) => props.onChange({ custom: (e.target as HTMLTextAreaElement).value })}
          />
        </label>
      )}
    </fieldset>
  );
}

function Upload(props: { onFiles: (files: File[]) => void; busy: boolean }) {
  const [over, setOver] = useState(false);
  const pick = (list: FileList | null) => list && list.length && props.onFiles([...list]);
  return (
    <section aria-labelledby="upload-title">
      <h2 id="upload-title">1. Instances</h2>
      <div
        class={over ? "drop over" : "drop"}
        onDragOver={(e) => {
          e.preventDefault();
          setOver(true);
        }}
        onDragLeave={() => setOver(false)}
        onDrop={(e) => {
          e.preventDefault();
          setOver(false);
          pick(e.dataTransfer?.files ?? null);
        }}
      >
        <p>Drop DICOM files here, or</p>
        <label>
          pick files{" "}
          <input
            type="file"
            multiple
            disabled={props.busy}
            data-testid="files"
            onChange={(e) => pick((e.target as HTMLInputElement).files)}
          />
        </label>
        <label>
          pick a folder{" "}
          <input
            type="file"
            multiple
            disabled={props.busy}
            {...{ webkitdirectory: "" }}
            onChange={(e) => pick((e.target as HTMLInputElement).files)}
          />
        </label>
      </div>
    </section>
  );
}

function HeaderTable(props: { header: DicomJson }) {
  return (
    <table class="header">
      <thead>
        <tr>
          <th scope="col">tag</th>
          <th scope="col">VR</th>
          <th scope="col">value</th>
        </tr>
      </thead>
      <tbody>
        {Object.entries(props.header).map(([tag, el]) => (
          <tr key={tag}>
            <td>{tagText(tag)}</td>
            <td>{el.vr}</td>
            <td class="value">{valueText(el)}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

function AuditView(props: { audit: Audit }) {
  const { audit } = props;
  return (
    <section aria-labelledby="audit-title" data-testid="audit">
      <h2 id="audit-title">Audit</h2>
      <p>
        profile {audit.profile.name} {audit.profile.version} ({audit.profile.rules} rules):{" "}
        {audit.summary.anonymized} of {audit.summary.total} instances de-identified, {audit.summary.changes}{" "}
        changes
      </p>
      <table>
        <thead>
          <tr>
            <th scope="col">instance</th>
            <th scope="col">status</th>
            <th scope="col">changes</th>
            <th scope="col">reason</th>
          </tr>
        </thead>
        <tbody>
          {audit.instances.map((i) => (
            <tr key={i.index}>
              <td>{i.index + 1}</td>
              <td>{i.status}</td>
              <td>{i.changes.length}</td>
              <td>{i.reason ?? ""}</td>
            </tr>
          ))}
        </tbody>
      </table>
      <button
        type="button"
        onClick={() =>
          download(new Blob([JSON.stringify(audit, null, 2)], { type: "application/json" }), "audit.json")
        }
      >
        Download the audit (JSON)
      </button>
    </section>
  );
}

function App() {
  const [profiles, setProfiles] = useState<ProfileSummary[]>([]);
  const [session, setSession] = useState<Session | null>(null);
  const [rejected, setRejected] = useState<Array<{ index: number; reason: string }>>([]);
  const [left, setLeft] = useState<ProfileChoice | null>(null);
  const [right, setRight] = useState<ProfileChoice | null>(null);
  const [previews, setPreviews] = useState<[Audit | null, Audit | null]>([null, null]);
  const [index, setIndex] = useState(0);
  const [headers, setHeaders] = useState<Record<string, DicomJson>>({});
  const [staged, setStaged] = useState<DicomJson | null>(null);
  const [applied, setApplied] = useState<Audit | null>(null);
  const [committed, setCommitted] = useState<Audit | null>(null);
  const [forwarded, setForwarded] = useState<{ stored: number; failed: number } | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [status, setStatus] = useState<string>("");
  const [busy, setBusy] = useState(false);
  const [needToken, setNeedToken] = useState<null | "ask" | "refused">(null);
  const [keywords, setKeywords] = useState<Map<string, string> | undefined>(undefined);

  /** Runs a step, showing the server's message on failure; a 401 asks for a token. */
  const step = async (what: string, work: () => Promise<void>) => {
    setBusy(true);
    setError(null);
    setStatus(`${what}…`);
    try {
      await work();
      setStatus(`${what}: done`);
    } catch (e) {
      if (e instanceof ApiError && e.status === 401) {
        setNeedToken(token.get() ? "refused" : "ask");
        token.clear();
      }
      setError(e instanceof Error ? e.message : String(e));
      setStatus(`${what}: failed`);
    } finally {
      setBusy(false);
    }
  };

  useEffect(() => {
    void step("loading the profiles", async () => {
      const list = await api.profiles();
      setProfiles(list.profiles);
      setLeft({ name: list.default });
    });
  }, []);

  const instance = session?.instances[index];
  const header = instance ? headers[`${index}`] : undefined;
  useEffect(() => {
    if (!session || !instance || headers[`${index}`] || session.state === "committed") return;
    void step("reading the header", async () => {
      const h = await api.header(session.id, index, "original");
      setHeaders((all) => ({ ...all, [`${index}`]: h }));
    });
  }, [session, index]);
  useEffect(() => setStaged(null), [session, index]);

  const preview = () =>
    step("preview", async () => {
      if (!session || !left) return;
      const [a, b] = await Promise.all([
        api.preview(session.id, left),
        right ? api.preview(session.id, right) : null,
      ]);
      setPreviews([a, b]);
      if (!keywords) setKeywords(await loadKeywords());
    });

  const rows = useMemo(
    () =>
      previews.map((p) =>
        p ? rowsOf(header, p.instances.find((i) => i.index === index)?.changes ?? [], keywords) : null,
      ),
    [previews, header, index, keywords],
  );
  // The pixel profile's redaction boxes: from the applied audit when staged, else the left preview
  // (its structured `pixel` list when it has one, else the audit's cleanPixel entries).
  const boxes = useMemo(() => {
    const audit = session?.state === "applied" && applied ? applied : previews[0];
    const listed = audit?.pixel?.instances.find((i) => i.index === index)?.boxes;
    if (listed) return listed;
    return boxesOf(audit?.instances.find((i) => i.index === index)?.changes ?? []);
  }, [session, applied, previews, index]);
  const frames = Number((header?.["00280008"]?.Value?.[0] as string | number | undefined) ?? 1) || 1;

  return (
    <main>
      <header class="top">
        <h1>DICOM de-identification review</h1>
        <p>
          <a href="/docs">API reference</a>
          {token.get() && (
            <button type="button" class="link" onClick={() => (token.clear(), setNeedToken("ask"))}>
              forget the token
            </button>
          )}
        </p>
      </header>
      {needToken && <TokenForm refused={needToken === "refused"} onSave={() => setNeedToken(null)} />}
      <div class="messages">
        <p class="status" role="status" aria-live="polite">
          {status}
        </p>
        {error && (
          <p class="error" role="alert" data-testid="error">
            {error}
          </p>
        )}
      </div>

      {!session && (
        <Upload
          busy={busy}
          onFiles={(files) =>
            step(`uploading ${files.length} file(s)`, async () => {
              const created = await api.create(files);
              setRejected(created.rejected);
              setSession(created);
              setIndex(0);
              setHeaders({});
              setPreviews([null, null]);
              setApplied(null);
              setCommitted(null);
              setForwarded(null);
            })
          }
        />
      )}

      {session && (
        <>
          <section aria-labelledby="session-title">
            <h2 id="session-title">
              Session{" "}
              <code title={session.id} data-testid="session-id">
                {session.id.slice(0, 8)}
              </code>
              : <span data-testid="state">{session.state}</span>
            </h2>
            <p>
              {session.instances.length} instance(s){rejected.length > 0 && `, ${rejected.length} refused`}
              {session.profile && `; staged with ${session.profile.name}`}
            </p>
            {rejected.length > 0 && (
              <ul>
                {rejected.map((r) => (
                  <li key={r.index}>
                    file {r.index + 1}: {r.reason}
                  </li>
                ))}
              </ul>
            )}
            <label>
              instance{" "}
              <select value={index} onChange={(e) => setIndex(Number((e.target as HTMLSelectElement).value))}>
                {session.instances.map((i) => (
                  <option key={i.index} value={i.index}>
                    {i.index + 1}: {i.modality || "?"} ({Math.round(i.bytes / 1024)} KiB)
                  </option>
                ))}
              </select>
            </label>
            <button
              type="button"
              class="danger"
              disabled={busy}
              onClick={() =>
                step("deleting the session", async () => {
                  await api.remove(session.id);
                  setSession(null);
                  setPreviews([null, null]);
                  setApplied(null);
                  setCommitted(null);
                  setForwarded(null);
                })
              }
            >
              Delete session
            </button>
          </section>

          {session.state !== "committed" && (
            <section aria-labelledby="profile-title">
              <h2 id="profile-title">2. Profile</h2>
              <div class="pickers">
                <ProfilePicker
                  id="left"
                  legend="profile"
                  profiles={profiles}
                  value={left}
                  onChange={setLeft}
                />
                <ProfilePicker
                  id="right"
                  legend="compare with"
                  profiles={profiles}
                  value={right}
                  optional
                  onChange={(p) => {
                    setRight(p);
                    if (!p) setPreviews(([a]) => [a, null]);
                  }}
                />
              </div>
              <div class="actions">
                <button type="button" disabled={busy || !left} onClick={preview}>
                  Preview
                </button>
                <button
                  type="button"
                  disabled={busy || !left}
                  onClick={() =>
                    step(`applying ${left ? label(left) : ""}`, async () => {
                      if (!left) return;
                      const r = await api.apply(session.id, left);
                      setSession(r.session);
                      setApplied(r.audit);
                      setStaged(null);
                    })
                  }
                >
                  Apply
                </button>
                <button
                  type="button"
                  disabled={busy || session.state !== "applied"}
                  onClick={() =>
                    step("reverting", async () => {
                      setSession(await api.revert(session.id));
                      setApplied(null);
                      setStaged(null);
                    })
                  }
                >
                  Revert
                </button>
              </div>
            </section>
          )}

          {rows[0] && (
            <section aria-labelledby="preview-title">
              <h2 id="preview-title">3. Preview</h2>
              <div class={rows[1] ? "side" : undefined}>
                <PreviewTable
                  id="preview-left"
                  title={previews[0]?.profile.name ?? ""}
                  rows={rows[0]}
                  counts={previews[0]?.changesByAction}
                />
                {rows[1] && (
                  <PreviewTable
                    id="preview-right"
                    title={previews[1]?.profile.name ?? ""}
                    rows={rows[1]}
                    counts={previews[1]?.changesByAction}
                  />
                )}
              </div>
            </section>
          )}

          {instance && session.state !== "committed" && (
            <Images
              session={session.id}
              index={index}
              frames={frames}
              staged={session.state === "applied"}
              boxes={boxes}
            />
          )}

          {session.state === "applied" && (
            <section aria-labelledby="staged-title">
              <h2 id="staged-title">4. Staged result</h2>
              <p>
                Staged with {session.profile?.name}:{" "}
                {applied ? `${applied.summary.anonymized} of ${applied.summary.total} instances` : ""}
              </p>
              <div class="actions">
                <button
                  type="button"
                  disabled={busy}
                  onClick={() =>
                    step("reading the staged header", async () =>
                      setStaged(await api.header(session.id, index, "staged")),
                    )
                  }
                >
                  Show the staged header
                </button>
                <button
                  type="button"
                  disabled={busy}
                  onClick={() =>
                    step("committing", async () => {
                      const zip = await api.commit(session.id);
                      download(zip, `session-${session.id.slice(0, 8)}.zip`);
                      setCommitted(applied);
                      setSession(await api.session(session.id));
                    })
                  }
                >
                  Commit and download (zip)
                </button>
                <button
                  type="button"
                  disabled={busy}
                  onClick={() =>
                    step("forwarding to the destination", async () => {
                      const counts = stowCounts(await api.forward(session.id));
                      setForwarded(counts);
                      setCommitted(applied);
                      setSession(await api.session(session.id));
                    })
                  }
                >
                  Commit and forward
                </button>
              </div>
              {staged && <HeaderTable header={staged} />}
            </section>
          )}

          {forwarded && (
            <p class="note" role="status" data-testid="forward-result">
              Forwarded to the destination: {forwarded.stored} instance(s) stored
              {forwarded.failed > 0 ? `, ${forwarded.failed} refused` : ""}.
            </p>
          )}
          {committed && <AuditView audit={stripBefore(committed)} />}
        </>
      )}
    </main>
  );
}

/** The committed audit carries no original values (as the service's own commit answer). */
function stripBefore(audit: Audit): Audit {
  return {
    ...audit,
    instances: audit.instances.map((i) => ({ ...i, changes: i.changes.map(({ before: _b, ...c }) => c) })),
  };
}

render(<App />, document.getElementById("app")!);
