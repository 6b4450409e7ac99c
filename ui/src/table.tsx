/** The preview table: every attribute of an instance with what the profile does to it. */
import { useMemo, useState } from "preact/hooks";
import type { Change, DicomJson } from "./api";

export interface Row {
  path: string;
  keyword: string;
  vr: string;
  action: string;
  before: string;
  after: string;
  changed: boolean;
}

const PAGE = 100;

/** "00100010" -> "(0010,0010)", in nested paths too. */
export const tagText = (path: string) =>
  path.replace(/([0-9A-Fa-f]{4})([0-9A-Fa-f]{4})/g, "($1,$2)").toUpperCase();

/** A DICOM JSON value as one line of text. */
export function valueText(el: DicomJson[string] | undefined): string {
  if (!el) return "";
  if (el.vr === "SQ") return `${el.Value?.length ?? 0} item(s)`;
  if (el.InlineBinary !== undefined || el.BulkDataURI !== undefined) return "(binary)";
  return (el.Value ?? [])
    .map((v) =>
      v !== null && typeof v === "object"
        ? ((v as { Alphabetic?: string }).Alphabetic ?? JSON.stringify(v))
        : String(v ?? ""),
    )
    .join("\\");
}

/**
 * Keywords of the attributes no rule changes (the audit names only the changed ones): the service's
 * own data dictionary, loaded as a separate chunk when first needed.
 */
export async function loadKeywords(): Promise<Map<string, string>> {
  const rows = (await import("../../src/dicom/dictionary.json")).default as unknown as Array<
    [string, string, string]
  >;
  return new Map(rows.map(([tag, , keyword]) => [tag.toUpperCase(), keyword]));
}

/** The header's attributes merged with the changes (nested changes keep their path). */
export function rowsOf(
  header: DicomJson | undefined,
  changes: Change[],
  keywords?: Map<string, string>,
): Row[] {
  const byPath = new Map(changes.map((c) => [c.path.toUpperCase(), c]));
  // A private block removed whole is one audit entry on its creator (gggg,00xx); its elements
  // (gggg,xxyy) are removed with it and shown so.
  const removedBlocks = new Set(
    changes
      .filter((c) => c.reason === "private block removed whole" && /^[0-9A-F]{4}00[0-9A-F]{2}$/i.test(c.path))
      .map((c) => c.path.slice(0, 4).toUpperCase() + c.path.slice(6, 8).toUpperCase()),
  );
  const inRemovedBlock = (tag: string) =>
    /^[0-9A-F]{8}$/i.test(tag) &&
    parseInt(tag.slice(0, 4), 16) % 2 === 1 &&
    parseInt(tag.slice(4, 6), 16) >= 0x10 &&
    removedBlocks.has(tag.slice(0, 4).toUpperCase() + tag.slice(4, 6).toUpperCase());
  const rows: Row[] = [];
  for (const [tag, el] of Object.entries(header ?? {})) {
    const c = byPath.get(tag.toUpperCase());
    byPath.delete(tag.toUpperCase());
    rows.push(
      c
        ? fromChange(c)
        : inRemovedBlock(tag)
          ? {
              path: tag,
              keyword: "",
              vr: el.vr,
              action: "remove",
              before: valueText(el),
              after: "(removed)",
              changed: true,
            }
          : {
              path: tag,
              keyword: keywords?.get(tag.toUpperCase()) ?? "",
              vr: el.vr,
              action: "keep",
              before: valueText(el),
              after: valueText(el),
              changed: false,
            },
    );
  }
  for (const c of byPath.values()) rows.push(fromChange(c));
  return rows.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
}

function fromChange(c: Change): Row {
  return {
    path: c.path,
    keyword: c.keyword ?? "",
    vr: c.vr,
    action: c.action,
    before: c.before ?? "",
    after: c.after === null ? "(removed)" : c.after,
    changed: true,
  };
}

export function PreviewTable(props: {
  title: string;
  rows: Row[];
  counts?: Record<string, number>;
  id: string;
}) {
  const [changedOnly, setChangedOnly] = useState(false);
  const [action, setAction] = useState("");
  const [text, setText] = useState("");
  const [page, setPage] = useState(0);
  const actions = useMemo(() => [...new Set(props.rows.map((r) => r.action))].sort(), [props.rows]);
  const shown = useMemo(() => {
    const needle = text.trim().toLowerCase();
    return props.rows.filter(
      (r) =>
        (!changedOnly || r.changed) &&
        (!action || r.action === action) &&
        (!needle ||
          [tagText(r.path), r.keyword, r.vr, r.action, r.before, r.after].some((s) =>
            s.toLowerCase().includes(needle),
          )),
    );
  }, [props.rows, changedOnly, action, text]);
  const pages = Math.max(1, Math.ceil(shown.length / PAGE));
  const current = Math.min(page, pages - 1);
  const changed = props.rows.filter((r) => r.changed).length;
  return (
    <section class="preview" aria-labelledby={`${props.id}-title`} data-testid={props.id}>
      <h3 id={`${props.id}-title`}>{props.title}</h3>
      <p class="counts" data-testid={`${props.id}-counts`}>
        <span data-testid={`${props.id}-rows`}>{props.rows.length}</span> attributes,{" "}
        <span data-testid={`${props.id}-changed`}>{changed}</span> changed in this instance
        {props.counts && <span class="all">; changes in all instances by action:</span>}
        {props.counts &&
          Object.entries(props.counts)
            .sort()
            .map(([a, n]) => (
              <span class="badge" key={a}>
                {a}: {n}
              </span>
            ))}
      </p>
      <div class="filters">
        <label>
          <input
            type="checkbox"
            checked={changedOnly}
            onChange={(e) => {
              setChangedOnly((e.target as HTMLInputElement).checked);
              setPage(0);
            }}
          />{" "}
          changed only
        </label>
        <label>
          action{" "}
          <select
            value={action}
            onChange={(e) => {
              setAction((e.target as HTMLSelectElement).value);
              setPage(0);
            }}
          >
            <option value="">all</option>
            {actions.map((a) => (
              <option key={a} value={a}>
                {a}
              </option>
            ))}
          </select>
        </label>
        <label>
          search{" "}
          <input
            type="search"
            value={text}
            onInput={(e) => {
              setText((e.target as HTMLInputElement).value);
              setPage(0);
            }}
          />
        </label>
      </div>
      <table>
        <thead>
          <tr>
            <th scope="col">tag</th>
            <th scope="col">keyword</th>
            <th scope="col">VR</th>
            <th scope="col">action</th>
            <th scope="col">before</th>
            <th scope="col">after</th>
          </tr>
        </thead>
        <tbody>
          {shown.slice(current * PAGE, (current + 1) * PAGE).map((r) => (
            <tr key={r.path} class={r.changed ? "changed" : undefined} data-keyword={r.keyword}>
              <td>{tagText(r.path)}</td>
              <td>{r.keyword}</td>
              <td>{r.vr}</td>
              <td>{r.action}</td>
              <td class="value">{r.before}</td>
              <td class="value">{r.after}</td>
            </tr>
          ))}
        </tbody>
      </table>
      <nav class="pager" aria-label={`${props.title} pages`}>
        <button type="button" disabled={current === 0} onClick={() => setPage(current - 1)}>
          previous
        </button>
        <span>
          page {current + 1} of {pages} ({shown.length} rows)
        </span>
        <button type="button" disabled={current >= pages - 1} onClick={() => setPage(current + 1)}>
          next
        </button>
      </nav>
    </section>
  );
}
