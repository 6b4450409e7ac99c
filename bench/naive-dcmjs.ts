/**
 * Baseline: the naive dcmjs read-modify-write a script would do (read, blank identifiers, drop private
 * tags, write). Not a complete de-identification: a floor for "what does just using dcmjs cost".
 *   node dist/bench/naive-dcmjs.js <out-dir> <files...>
 */
import fs from "node:fs";
import path from "node:path";
import dcmjs from "dcmjs";

const [outDir, ...files] = process.argv.slice(2);
fs.mkdirSync(outDir!, { recursive: true });
const BLANK = [
  "00100010",
  "00100020",
  "00100030",
  "00080090",
  "00080080",
  "00080081",
  "00081050",
  "00081070",
];
for (const file of files) {
  const buf = fs.readFileSync(file);
  const message = dcmjs.data.DicomMessage.readFile(
    buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.length),
  );
  for (const tag of Object.keys(message.dict))
    if (parseInt(tag.slice(0, 4), 16) % 2 === 1) delete message.dict[tag];
  for (const tag of BLANK) if (message.dict[tag]) message.dict[tag].Value = [];
  fs.writeFileSync(path.join(outDir!, path.basename(file)), Buffer.from(message.write()));
}
