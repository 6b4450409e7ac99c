/**
 * The WASM codecs load lazily, once per thread, and only those a syntax needs: the header-only path
 * (engine imported, a CT anonymized under hipaa) loads none, loadCodecs(JPEG-LS) loads CharLS alone.
 * Checked in a fresh Node process on the built code (dist/), by the CommonJS modules it required.
 */
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { ROOT } from "../../helpers/corpus.js";

const DIST = path.join(ROOT, "dist/src");

function loadedAfter(steps: string): string[] {
  return runScript(steps).modules;
}

function runScript(steps: string): { modules: string[]; stdout: string; stderr: string } {
  if (!fs.existsSync(path.join(DIST, "engine/anonymize.js")))
    throw new Error(`${DIST}/engine/anonymize.js is missing: run "npm run build" first`);
  const script = `
    import { createRequire } from "node:module";
    import fs from "node:fs";
    const dist = ${JSON.stringify(DIST)};
    const { anonymizeInstance } = await import(dist + "/engine/anonymize.js");
    const { ProfileRegistry } = await import(dist + "/profiles/registry.js");
    const { UidMapper } = await import(dist + "/engine/uid-map.js");
    const { loadCodecs } = await import(dist + "/pixel/codecs.js");
    const { transferSyntaxOf } = await import(dist + "/dicom/transfer-syntax.js");
    const { readPart10 } = await import(dist + "/dicom/part10.js");
    const { decodeFrames, cleanPixelData } = await import(dist + "/pixel/index.js");
    const registry = ProfileRegistry.load();
    const input = fs.readFileSync(${JSON.stringify(path.join(ROOT, "../shared/corpus/public/ct-explicit-le-ge-small.dcm"))});
    const out = anonymizeInstance(input, { plan: registry.get("hipaa"), uids: new UidMapper(Buffer.alloc(32, 1)) });
    if (out.status !== "anonymized") throw new Error(out.code);
    ${steps}
    const cache = createRequire(import.meta.url).cache;
    console.log(JSON.stringify(Object.keys(cache).filter((k) => /dcmjs-codecs|@cornerstonejs/.test(k))));
  `;
  const r = spawnSync(process.execPath, ["--input-type=module", "-e", script], {
    encoding: "utf8",
    cwd: ROOT,
  });
  expect(r.status, r.stderr).toBe(0);
  const modules = (JSON.parse(r.stdout.trim().split("\n").pop()!) as string[]).map((k) =>
    k.includes("dcmjs-codecs") ? "dcmjs-codecs" : k.replace(/.*@cornerstonejs\/([^/]+).*/, "$1"),
  );
  return { modules, stdout: r.stdout, stderr: r.stderr };
}

describe("codecs load lazily", () => {
  it("the header-only path loads no codec", () => {
    expect(loadedAfter("")).toEqual([]);
  });
  it("JPEG-LS loads CharLS only; HTJ2K OpenJPEG and OpenJPH; a native syntax nothing", () => {
    expect(loadedAfter(`await loadCodecs(transferSyntaxOf("1.2.840.10008.1.2.4.80"));`)).toEqual([
      "codec-charls",
    ]);
    expect(loadedAfter(`await loadCodecs(transferSyntaxOf("1.2.840.10008.1.2.4.201"));`).sort()).toEqual([
      "codec-openjpeg",
      "codec-openjph",
    ]);
    expect(loadedAfter(`await loadCodecs(transferSyntaxOf("1.2.840.10008.1.2.1"));`)).toEqual([]);
  });
  it("decoding, encoding and a codec failure print nothing (OpenJPEG's [INFO] lines go nowhere)", () => {
    const corpus = JSON.stringify(path.join(ROOT, "../shared/corpus/public"));
    const { stdout, stderr } = runScript(`
      for (const name of ["mr-siemens-csa-jpeg2000-lossless", "mr-small-jpeg-ls-lossless", "pt-ge-jpeg-lossless"]) {
        const p = readPart10(fs.readFileSync(${corpus} + "/" + name + ".dcm"));
        await loadCodecs(p.transferSyntax);
        decodeFrames(p.dataset, p.transferSyntax);
        const config = { detector: false, padding: 0, unmatched: "pass", lossy: "refuse", templates: [],
          scope: { modalities: [], sopClasses: [], burnedInAnnotationYes: false } };
        cleanPixelData(p.dataset, p.transferSyntax, config, [[[1, 1, 5, 5]]]);
        const pixel = p.dataset.find((e) => e.tag === 0x7fe00010);
        const broken = p.dataset.map((e) => e === pixel ? { ...e, fragments: Buffer.from([0xfe, 0xff, 0, 0xe0, 0, 0, 0, 0, 0xfe, 0xff, 0, 0xe0, 4, 0, 0, 0, 0xff, 0x4f, 0xff, 0x51, 0xfe, 0xff, 0xdd, 0xe0, 0, 0, 0, 0]) } : e);
        try { decodeFrames(broken, p.transferSyntax); } catch {}
      }
    `);
    expect(stdout.trim().split("\n")).toHaveLength(1); // the module list only
    expect(stderr).toBe("");
  });
});
