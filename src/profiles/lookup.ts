/**
 * Lookup tables (original value -> new value, e.g. PatientID -> trial subject ID), as RSNA CTP's
 * lookup tables. Read and checked when a profile is loaded: a header row, two columns, unique
 * non-empty keys, bounded size. Problems name the line, never a key or a value.
 */

/** At most this many bytes in a table's CSV file. */
export const LOOKUP_MAX_FILE_BYTES = 16 * 1024 * 1024;
/** At most this many rows (without the header) in one table. */
export const LOOKUP_MAX_ROWS = 200_000;
/** A key or a value longer than this cannot be a DICOM identifier (LO holds 64 characters). */
export const LOOKUP_MAX_CELL = 64;

export type LookupRows = Array<readonly [string, string]>;

/** Parses RFC 4180 CSV (quoted fields, "" inside quotes, CRLF or LF) into rows of cells. */
function csvRecords(text: string, fail: (message: string) => never): string[][] {
  const records: string[][] = [];
  let row: string[] = [];
  let cell = "";
  let quoted = false;
  let line = 1;
  let i = text.charCodeAt(0) === 0xfeff ? 1 : 0;
  const endRow = () => {
    row.push(cell);
    cell = "";
    if (!(row.length === 1 && row[0] === "")) records.push(row);
    row = [];
  };
  for (; i < text.length; i++) {
    const ch = text[i]!;
    if (quoted) {
      if (ch === '"') {
        if (text[i + 1] === '"') {
          cell += '"';
          i++;
        } else quoted = false;
      } else {
        if (ch === "\n") line++;
        cell += ch;
      }
    } else if (ch === '"') {
      if (cell !== "") fail(`line ${line}: a quote inside an unquoted field`);
      quoted = true;
    } else if (ch === ",") {
      row.push(cell);
      cell = "";
    } else if (ch === "\n" || ch === "\r") {
      if (ch === "\r" && text[i + 1] === "\n") i++;
      endRow();
      line++;
    } else cell += ch;
  }
  if (quoted) fail(`line ${line}: a quoted field is not closed`);
  if (cell !== "" || row.length > 0) endRow();
  return records;
}

/** Checks rows (from a CSV file or inline JSON): two cells, unique non-empty keys, bounded cells. */
export function checkRows(
  rows: ReadonlyArray<readonly string[]>,
  where: (row: number) => string,
  fail: (message: string) => never,
): LookupRows {
  if (rows.length > LOOKUP_MAX_ROWS) fail(`has more than ${LOOKUP_MAX_ROWS} rows`);
  const seen = new Set<string>();
  return rows.map((row, i) => {
    if (row.length !== 2) fail(`${where(i)}: has ${row.length} columns, expected 2 (original, new)`);
    const key = row[0]!.trim();
    const value = row[1]!.trim();
    if (key === "" || value === "") fail(`${where(i)}: an empty original or new value`);
    if (key.length > LOOKUP_MAX_CELL || value.length > LOOKUP_MAX_CELL)
      fail(`${where(i)}: a value longer than ${LOOKUP_MAX_CELL} characters`);
    if (hasControlOrBackslash(key + value)) fail(`${where(i)}: a backslash or control character`);
    if (seen.has(key)) fail(`${where(i)}: a duplicate original value`);
    seen.add(key);
    return [key, value] as const;
  });
}

/** A backslash separates DICOM values; a control character has no place in an identifier. */
function hasControlOrBackslash(text: string): boolean {
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < 0x20 || c === 0x5c || c === 0x7f) return true;
  }
  return false;
}

/** A CSV table: a header row of two columns, then one row per key. */
export function parseLookupCsv(text: string, fail: (message: string) => never): LookupRows {
  const records = csvRecords(text, fail);
  const header = records[0];
  if (!header) fail("is empty: expected a header row (original,new) and rows");
  if (header.length !== 2) fail(`line 1 (header): has ${header.length} columns, expected 2 (original, new)`);
  return checkRows(records.slice(1), (i) => `data row ${i + 1}`, fail);
}
