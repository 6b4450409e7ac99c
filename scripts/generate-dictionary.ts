/**
 * Writes src/dicom/dictionary.json from dcmjs's data dictionary (tag, VR, keyword), so the service
 * and the CLI do not load the whole dcmjs bundle (~35 ms of start-up) just for the dictionary.
 *
 *   npm run generate:dictionary
 *
 * A test checks that the committed file is exactly what this produces from the installed dcmjs.
 */
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import dcmjs from "dcmjs";

export type DictionaryRow = [tag: string, vr: string, keyword: string];

export function dictionaryRows(): DictionaryRow[] {
  const rows = (
    Object.values(dcmjs.data.DicomMetaDictionary.nameMap) as Array<{ tag: string; vr: string; name: string }>
  )
    .filter((e) => /^\([0-9A-F]{4},[0-9A-F]{4}\)$/i.test(e.tag))
    .map((e): DictionaryRow => [
      e.tag.slice(1, 5).toUpperCase() + e.tag.slice(6, 10).toUpperCase(),
      e.vr,
      e.name,
    ]);
  return rows.sort((a, b) => a[0].localeCompare(b[0]) || a[2].localeCompare(b[2]));
}

export function serializeDictionary(rows: DictionaryRow[]): string {
  return `[\n${rows.map((r) => JSON.stringify(r)).join(",\n")}\n]\n`;
}

function main(): void {
  const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..", "..");
  const out = path.join(root, "src/dicom/dictionary.json");
  fs.writeFileSync(out, serializeDictionary(dictionaryRows()));
  console.log(`wrote ${out}`);
}

if (process.argv[1] && fileURLToPath(import.meta.url) === path.resolve(process.argv[1])) main();
