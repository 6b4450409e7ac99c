/**
 * The detector pool (dist/, run `npm run build` first): engine workers send their crops to shared
 * detector threads. The outcome must be exactly what detection in the worker's own thread gives
 * (same boxes, same bytes), on a cine with moving rectangles (the corpus' SonoSite cine) and on one
 * whose whole image moves (the bench's, five frames); one cine's frames reach more than one thread;
 * a failed detection fails the instance with a code and the pool goes on.
 */
import fs from "node:fs";
import { afterAll, describe, expect, it } from "vitest";
import { buildCine } from "../../../bench/pixel.js";
import type { InstanceOutcome } from "../../../src/engine/anonymize.js";
import { EnginePool } from "../../../src/engine/pool.js";
import { DetectorPool } from "../../../src/pixel/detector-pool.js";
import { remoteDetector } from "../../../src/pixel/detector-remote.js";
import { builtinProfileDir, ProfileRegistry } from "../../../src/profiles/registry.js";
import { runsDetector } from "../../../src/profiles/runs-detector.js";
import { corpusFile, CORPUS_DIR } from "../../helpers/corpus.js";
import { SECRET } from "../../helpers/engine.js";

const settings = {
  profileDirs: [builtinProfileDir()],
  secretHex: SECRET.toString("hex"),
  maxInflatedBytes: 1 << 28,
};
const registry = ProfileRegistry.load([builtinProfileDir()]);
const detectors = new DetectorPool(2);
const pooled = new EnginePool(settings, 1, { pool: detectors, needs: runsDetector(registry) });
const inWorker = new EnginePool(settings, 1);
afterAll(async () => Promise.all([pooled.close(), inWorker.close()]));

const detect = {
  name: "detect",
  description: "hipaa + detector",
  version: "1",
  extends: "hipaa",
  pixel: { detector: true, scope: { modalities: ["US"], sopClasses: [], burnedInAnnotationYes: true } },
  rules: [],
};

function cleaned(o: InstanceOutcome): { output: Buffer; boxes: string[] } {
  if (o.status !== "anonymized") throw new Error(`${o.code}: ${o.reason}`);
  return { output: o.output, boxes: o.changes.filter((c) => c.action === "cleanPixel").map((c) => c.after!) };
}

describe("detector pool", { timeout: 120_000 }, () => {
  it("cleans the corpus cine exactly as detection in the engine worker does", async () => {
    const input = corpusFile("us-multiframe-jpeg-baseline-ybr.dcm");
    const here = cleaned(await inWorker.anonymize(input, { custom: detect }));
    const there = cleaned(await pooled.anonymize(input, { custom: detect }));
    expect(here.boxes.length).toBeGreaterThan(30);
    expect(there.boxes).toEqual(here.boxes);
    expect(Buffer.compare(there.output, here.output)).toBe(0);
  });

  it("cleans a cine whose whole image moves exactly as in the worker, on both detector threads", async () => {
    const cine = buildCine(fs.readFileSync(`${CORPUS_DIR}/us-burned-in-yes-philips-phi.dcm`), 5);
    const here = cleaned(await inWorker.anonymize(cine, { custom: detect }));
    const there = cleaned(await pooled.anonymize(cine, { custom: detect }, true));
    expect(there.boxes).toEqual(here.boxes);
    expect(Buffer.compare(there.output, here.output)).toBe(0);
    expect(detectors.threadsRunning).toBe(2);
  });

  it("opens no channel for a profile without the detector", async () => {
    const before = detectors.channelsOpened;
    const templatesOnly = { ...detect, name: "templates", pixel: { detector: false } };
    const custom = { ...templatesOnly, extends: "pixel" };
    expect((await pooled.anonymize(corpusFile("us-philips-palette-rle.dcm"), { custom })).status).toBe(
      "anonymized",
    );
    expect(detectors.channelsOpened).toBe(before);
  });

  it("a detection that fails rejects with a message that names nothing, and the pool goes on", async () => {
    const channel = detectors.open();
    const remote = remoteDetector(channel.port, 2);
    const img = { width: 64, height: 32, data: new Uint8Array(64 * 32 * 3) };
    await expect(remote.detect(img, undefined, Number.NaN)).rejects.toThrow(
      /^text detection failed in the detector pool$/,
    );
    expect(await remote.detect(img)).toEqual([]);
    // Closed when its task ends: a detection still pending fails, a later one fails at once.
    const pending = remote.detect(img);
    remote.close();
    await expect(pending).rejects.toThrow(/^the detector channel closed$/);
    await expect(remote.detect(img)).rejects.toThrow(/^the detector channel closed$/);
    channel.close();
  });
});

describe("runsDetector", () => {
  const needs = runsDetector(registry);
  it("is true only for profiles whose pixel step runs the detector", () => {
    expect(needs({ name: "pixel" })).toBe(true);
    expect(needs({ name: "hipaa" })).toBe(false);
    expect(needs({ custom: detect })).toBe(true);
    expect(needs({ custom: { ...detect, pixel: { detector: false } } })).toBe(false);
    expect(needs({ custom: { ...detect, extends: "pixel", pixel: {} } })).toBe(true);
    expect(needs({ custom: { not: "a profile" } })).toBe(false);
  });
});
