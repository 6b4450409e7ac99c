/**
 * The CLI with a pixel step (dist/, run `npm run build` first): profile `pixel` (templates) and a
 * custom profile with the detector on run the asynchronous pixel step before the header pipeline.
 * The written files are decoded by dcmtk (dcmdrle for RLE, dcmconv for native) and their PHI boxes
 * (test/fixtures/pixel/corpus-boxes.json) hold the fill, while the originals showed text there.
 */
import { execFileSync, spawnSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { readPart10 } from "../../src/dicom/part10.js";
import { decodeFrames } from "../../src/pixel/index.js";
import { CORPUS_DIR, corpusFile, ROOT } from "../helpers/corpus.js";
import { requireTool } from "../helpers/tools.js";

const CLI = path.join(ROOT, "dist/src/cli.js");
if (!fs.existsSync(CLI))
  throw new Error(`${CLI} is missing: run "npm run build" (npm test does) before these tests`);
requireTool("dcmdrle", "dcmtk");

const BOXES = JSON.parse(
  fs.readFileSync(path.join(ROOT, "test/fixtures/pixel/corpus-boxes.json"), "utf8"),
) as Record<string, { boxes: [number, number, number, number, string, number?][] }>;

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "cli-pixel-"));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

function cli(args: string[]) {
  const r = spawnSync(process.execPath, [CLI, ...args], {
    encoding: "utf8",
    env: { ...process.env, UID_SECRET: "cli-pixel-secret" },
  });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** Frame 1 of a file as dcmtk decodes it (converted to native little endian first). */
function dcmtkFrame(file: string): { frame: Uint8Array; cols: number } {
  const native = path.join(tmp, `native-${path.basename(file)}`);
  const rle = readPart10(fs.readFileSync(file)).transferSyntax.encapsulated;
  execFileSync(rle ? "dcmdrle" : "dcmconv", [...(rle ? [] : ["+te"]), file, native]);
  const parsed = readPart10(fs.readFileSync(native));
  const { frames, module } = decodeFrames(parsed.dataset, parsed.transferSyntax);
  return { frame: frames[0]!, cols: module.cols };
}

/** Samples of the PHI boxes that differ from 0 (the darkest value of both files: grey 0, palette index 0). */
function nonFillInPhi(name: string, frame: Uint8Array, cols: number): number {
  let n = 0;
  for (const [x, y, w, h, , phi] of BOXES[name]!.boxes) {
    if (phi !== 1) continue;
    for (let yy = y; yy < y + h; yy++) for (let xx = x; xx < x + w; xx++) if (frame[yy * cols + xx]) n++;
  }
  return n;
}

function outputs(dir: string): string[] {
  return fs
    .readdirSync(dir)
    .filter((f) => f.endsWith(".dcm"))
    .map((f) => path.join(dir, f));
}

const FILES = ["us-philips-palette-rle.dcm", "us-burned-in-yes-philips-phi.dcm"];

describe("dicomweb-anonymizer anonymize with a pixel step", { timeout: 120_000 }, () => {
  const input = path.join(tmp, "in");
  fs.mkdirSync(input);
  for (const f of FILES) fs.copyFileSync(path.join(CORPUS_DIR, f), path.join(input, f));

  it("--profile pixel fills the header bars (template) and the detector's boxes of both Philips files (dcmtk decodes)", () => {
    // The originals do show text in those boxes.
    for (const f of FILES) {
      const { frame, cols } = dcmtkFrame(path.join(input, f));
      expect(nonFillInPhi(f.replace(/\.dcm$/, ""), frame, cols), f).toBeGreaterThan(100);
    }
    const out = path.join(tmp, "out-pixel");
    const audit = path.join(tmp, "audit-pixel.json");
    const r = cli(["anonymize", input, "--out", out, "--profile", "pixel", "--audit", audit]);
    expect(r.stdout).toMatch(/pixel: 2 anonymized, 0 failed of 2/);
    expect(r.status).toBe(0);
    const report = JSON.parse(fs.readFileSync(audit, "utf8"));
    for (const instance of report.instances) {
      const boxes: string[] = instance.changes
        .filter((c: { action: string }) => c.action === "cleanPixel")
        .map((c: { after: string }) => c.after);
      const template = boxes.filter((b) => b.endsWith("source template"));
      expect(template).toHaveLength(1);
      expect(template[0]).toMatch(/^frame 1 x 0 y 0 width \d+ height \d+ source template$/);
      expect(boxes.length - template.length).toBeGreaterThan(0); // and the detector's
    }
    const written = outputs(out);
    expect(written).toHaveLength(2);
    for (const file of written) {
      const { frame, cols } = dcmtkFrame(file);
      const name = cols === 800 ? "us-philips-palette-rle" : "us-burned-in-yes-philips-phi";
      expect(nonFillInPhi(name, frame, cols), name).toBe(0);
      expect(execFileSync("dcmdump", ["+P", "0028,0301", file]).toString()).toMatch(/\[NO\]/);
    }
  });

  it("a custom profile with the detector on cleans the CX50 file; the audit lists detector boxes", () => {
    const profile = path.join(tmp, "detect.json");
    fs.writeFileSync(
      profile,
      JSON.stringify({
        name: "detect",
        description: "hipaa + the text detector",
        version: "1",
        extends: "hipaa",
        pixel: { detector: true },
        rules: [],
      }),
    );
    const one = path.join(tmp, "in-cx50");
    fs.mkdirSync(one);
    fs.writeFileSync(path.join(one, "cx50.dcm"), corpusFile("us-philips-palette-rle.dcm"));
    const out = path.join(tmp, "out-detect");
    const audit = path.join(tmp, "audit-detect.json");
    const r = cli(["anonymize", one, "--out", out, "--profile", profile, "--audit", audit]);
    expect(r.stdout).toMatch(/detect: 1 anonymized, 0 failed of 1/);
    expect(r.status).toBe(0);
    const [instance] = JSON.parse(fs.readFileSync(audit, "utf8")).instances;
    const boxes = instance.changes.filter((c: { action: string }) => c.action === "cleanPixel");
    expect(boxes.length).toBeGreaterThan(10);
    expect(boxes.every((c: { after: string }) => c.after.endsWith("source detector"))).toBe(true);
    const [file] = outputs(out);
    const { frame, cols } = dcmtkFrame(file!);
    expect(nonFillInPhi("us-philips-palette-rle", frame, cols)).toBe(0);
  });

  it("the detector pool (default), one job or two, writes what detection in the job thread writes", () => {
    const profile = path.join(tmp, "detect.json");
    const dir = path.join(tmp, "in-cine");
    fs.mkdirSync(dir);
    fs.writeFileSync(path.join(dir, "cine.dcm"), corpusFile("us-multiframe-jpeg-baseline-ybr.dcm"));
    fs.writeFileSync(path.join(dir, "cx50.dcm"), corpusFile("us-philips-palette-rle.dcm"));
    const written = (extra: string[]) => {
      const out = path.join(tmp, `out-pool-${extra.join("")}`);
      const audit = `${out}.json`;
      const r = cli(["anonymize", dir, "--out", out, "--profile", profile, "--audit", audit, ...extra]);
      expect(r.stdout).toMatch(/detect: 2 anonymized, 0 failed of 2/);
      const changes = JSON.parse(fs.readFileSync(audit, "utf8")).instances.map(
        (i: { source: string; changes: unknown }) => [path.basename(i.source), i.changes],
      );
      return {
        files: outputs(out)
          .sort()
          .map((f) => fs.readFileSync(f).toString("base64")),
        changes,
      };
    };
    const inThread = written(["--detector-threads", "0"]);
    expect(JSON.stringify(inThread.changes)).toMatch(/source detector/);
    expect(written([])).toEqual(inThread);
    expect(written(["--jobs", "2", "--detector-threads", "2"])).toEqual(inThread);
  });

  it("refuses a --detector-threads that is not a count", () => {
    const r = cli(["anonymize", input, "--out", path.join(tmp, "x"), "--detector-threads", "two"]);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/--detector-threads must be a non-negative integer/);
  });

  it("two workers with the detector: both instances cleaned", () => {
    const profile = path.join(tmp, "detect.json");
    const out = path.join(tmp, "out-detect-2");
    const r = cli(["anonymize", input, "--out", out, "--profile", profile, "--jobs", "2"]);
    expect(r.stdout).toMatch(/detect: 2 anonymized, 0 failed of 2/);
    expect(r.status).toBe(0);
    for (const file of outputs(out)) {
      const { frame, cols } = dcmtkFrame(file);
      const name = cols === 800 ? "us-philips-palette-rle" : "us-burned-in-yes-philips-phi";
      expect(nonFillInPhi(name, frame, cols), name).toBe(0);
    }
  });
});
