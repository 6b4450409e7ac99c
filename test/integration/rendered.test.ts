/**
 * GET .../rendered: frames of real corpus instances rendered as PNG, decoded by an independent
 * decoder (pngjs) and compared with dcmtk's own rendering (dcm2pnm) of the same file and frame.
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { PNG } from "pngjs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CORPUS_DIR, corpusFile } from "../helpers/corpus.js";
import { testApp, type TestApp } from "../helpers/app.js";
import { requireTool, run } from "../helpers/tools.js";

const HAVE_DCMTK = requireTool("dcm2pnm", "dcmtk");
const dicom = { "content-type": "application/dicom" };

let t: TestApp;
let tmp: string;
beforeAll(async () => {
  t = await testApp();
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), "rendered-"));
});
afterAll(async () => {
  await t.app.close();
  fs.rmSync(tmp, { recursive: true, force: true });
});

interface Raster {
  width: number;
  height: number;
  channels: 1 | 3;
  pixels: Uint8Array;
}

function decodePng(body: Buffer): Raster & { colorType: number } {
  const png = PNG.sync.read(body);
  // pngjs always hands back RGBA; the colour type says what the file holds.
  const colorType = body.readUInt8(25);
  const channels = colorType === 0 ? 1 : 3;
  const pixels = new Uint8Array(png.width * png.height * channels);
  for (let p = 0; p < png.width * png.height; p++)
    for (let s = 0; s < channels; s++) pixels[p * channels + s] = png.data[p * 4 + s]!;
  return { width: png.width, height: png.height, channels, pixels, colorType };
}

/**
 * dcmtk's rendering of a frame as raw PGM/PPM. Compressed files are decoded by dcmtk first
 * (`decode`: dcmdjpeg +cl (YCbCr to RGB as libjpeg does), dcmdjpls), as this dcm2pnm has no codecs.
 */
function dcmtkRender(file: string, args: string[], decode?: string[]): Raster {
  const out = path.join(tmp, `${path.basename(file)}-${args.join("_")}.pnm`);
  let input = path.isAbsolute(file) ? file : path.join(CORPUS_DIR, file);
  if (decode) {
    const native = path.join(tmp, `${path.basename(file)}-native.dcm`);
    const d = run(decode[0]!, [...decode.slice(1), input, native]);
    if (d.status !== 0) throw new Error(`${decode[0]} failed: ${d.stderr}`);
    input = native;
  }
  const r = run("dcm2pnm", ["+op", ...args, input, out]);
  if (r.status !== 0) throw new Error(`dcm2pnm failed: ${r.stderr}`);
  const data = fs.readFileSync(out);
  const header = /^(P[56])\s+(\d+)\s+(\d+)\s+(\d+)\s/.exec(data.toString("latin1", 0, 64))!;
  const channels = header[1] === "P5" ? 1 : 3;
  const width = Number(header[2]);
  const height = Number(header[3]);
  return { width, height, channels, pixels: data.subarray(header[0].length) };
}

async function session(file: string | Buffer): Promise<string> {
  const created = await t.app.inject({
    method: "POST",
    url: "/sessions",
    payload: typeof file === "string" ? corpusFile(file) : file,
    headers: dicom,
  });
  expect(created.statusCode).toBe(201);
  return `/sessions/${created.json().id}`;
}

/** Share of samples that differ by more than 1 from the reference, and the largest difference. */
function compare(ours: Raster, ref: Raster): { off: number; max: number } {
  expect([ours.width, ours.height, ours.channels]).toEqual([ref.width, ref.height, ref.channels]);
  let off = 0;
  let max = 0;
  for (let i = 0; i < ref.pixels.length; i++) {
    const d = Math.abs(ours.pixels[i]! - ref.pixels[i]!);
    if (d > 1) off++;
    if (d > max) max = d;
  }
  return { off: off / ref.pixels.length, max };
}

const CASES: Array<{
  file: string;
  frame?: number;
  query?: string;
  dcmtk: string[];
  decode?: string[];
  what: string;
}> = [
  {
    file: "ct-explicit-le-ge-small.dcm",
    query: "?window=40,400",
    dcmtk: ["+Ww", "40", "400"],
    what: "CT, signed 16-bit, rescaled, ?window",
  },
  {
    file: "ct-explicit-le-ge-small.dcm",
    query: "?window=40,400,sigmoid",
    dcmtk: ["+Ww", "40", "400", "+Wfs"],
    what: "CT, sigmoid VOI function",
  },
  {
    file: "ct-explicit-be-ge.dcm",
    query: "?window=-600,1500",
    dcmtk: ["+Ww", "-600", "1500"],
    what: "CT, Explicit VR Big Endian 16-bit",
  },
  { file: "mr-small-implicit-le.dcm", dcmtk: ["+Wi", "1"], what: "MR, window from the header" },
  {
    file: "mr-enhanced-multiframe.dcm",
    frame: 7,
    dcmtk: ["+F", "7", "+Wm"],
    what: "enhanced MR frame 7, no window: min-max",
  },
  { file: "cr-agfa-private.dcm", dcmtk: ["+Wi", "1"], what: "CR MONOCHROME1" },
  { file: "dx-request-attributes-odd-pixel.dcm", dcmtk: ["+Wi", "1"], what: "DX MONOCHROME1 8-bit" },
  { file: "us-rgb-explicit-be.dcm", dcmtk: [], what: "RGB, Explicit VR Big Endian" },
  { file: "sc-rgb-odd-size-explicit-le.dcm", dcmtk: [], what: "3x3 RGB, odd-length pixel data" },
  {
    file: "us-multiframe-acuson-implicit-large.dcm",
    frame: 5,
    dcmtk: ["+F", "5"],
    what: "US RGB cine frame 5",
  },
  {
    file: "us-philips-palette-rle.dcm",
    dcmtk: [],
    what: "US PALETTE COLOR, RLE Lossless (decoded by src/pixel)",
  },
  {
    file: "rtdose-rle-multiframe.dcm",
    frame: 3,
    dcmtk: ["+F", "3", "+Wm"],
    what: "RT dose 32-bit RLE frame 3 (decoded by src/pixel), min-max",
  },
  {
    file: "mr-small-jpeg-ls-lossless.dcm",
    dcmtk: ["+Wi", "1"],
    decode: ["dcmdjpls"],
    what: "MR JPEG-LS lossless, window from the header (decoded by src/pixel's JPEG-LS codec)",
  },
  {
    file: "us-multiframe-jpeg-baseline-ybr.dcm",
    frame: 7,
    dcmtk: ["+F", "7"],
    decode: ["dcmdjpeg", "+cl"],
    what: "US cine JPEG baseline YBR_FULL_422 frame 7 (decoded by src/pixel's JPEG codec)",
  },
];

describe.skipIf(!HAVE_DCMTK)("rendered frames agree with dcmtk's rendering", () => {
  for (const c of CASES)
    it(`${c.what} (${c.file})`, async () => {
      const url = await session(c.file);
      const res = await t.app.inject({
        url:
          (c.frame ? `${url}/instances/0/frames/${c.frame}/rendered` : `${url}/instances/0/rendered`) +
          (c.query ?? ""),
        headers: { accept: "image/png" },
      });
      expect(res.statusCode, res.body.slice(0, 300)).toBe(200);
      expect(res.headers["content-type"]).toBe("image/png");
      const ours = decodePng(res.rawPayload);
      const { off, max } = compare(ours, dcmtkRender(c.file, c.dcmtk, c.decode));
      console.log(`${c.file}: ${(off * 100).toFixed(3)}% of samples off by more than 1, max ${max}`);
      expect(off).toBe(0);
      expect(max).toBeLessThanOrEqual(1);
    });
});

describe.skipIf(!HAVE_DCMTK)("palette colour", () => {
  it("a PALETTE COLOR US (RLE in the corpus, decoded to native by dcmdrle) renders as dcmtk does", async () => {
    const native = path.join(tmp, "palette-native.dcm");
    const r = run("dcmdrle", [path.join(CORPUS_DIR, "us-philips-palette-rle.dcm"), native]);
    expect(r.status, r.stderr).toBe(0);
    const url = await session(fs.readFileSync(native));
    const res = await t.app.inject({ url: `${url}/instances/0/rendered` });
    expect(res.statusCode, res.body.slice(0, 300)).toBe(200);
    const ours = decodePng(res.rawPayload);
    expect(ours.colorType).toBe(2);
    const { off, max } = compare(ours, dcmtkRender(native, []));
    console.log(`palette: ${(off * 100).toFixed(3)}% of samples off by more than 1, max ${max}`);
    expect(max).toBeLessThanOrEqual(1);
  });
});

describe("the rendered routes", () => {
  it("greyscale is an 8-bit grey PNG; ?viewport scales to fit, keeping the aspect ratio", async () => {
    const url = await session("mr-small-implicit-le.dcm"); // 64 x 64
    const full = decodePng((await t.app.inject({ url: `${url}/instances/0/rendered` })).rawPayload);
    expect([full.width, full.height, full.colorType]).toEqual([64, 64, 0]);
    const same = decodePng(
      (await t.app.inject({ url: `${url}/instances/0/rendered?viewport=32,32` })).rawPayload,
    );
    expect([same.width, same.height]).toEqual([32, 32]);
    const fit = decodePng(
      (await t.app.inject({ url: `${url}/instances/0/rendered?viewport=100,50` })).rawPayload,
    );
    expect([fit.width, fit.height]).toEqual([50, 50]);
    // A region: the top-left quarter onto 64 x 64 is that quarter, each pixel doubled.
    const region = decodePng(
      (await t.app.inject({ url: `${url}/instances/0/rendered?viewport=64,64,0,0,32,32` })).rawPayload,
    );
    expect([region.width, region.height]).toEqual([64, 64]);
    expect(region.pixels[2 * 64 * 2 + 2 * 2]).toBe(full.pixels[2 * 64 + 2]);
  });

  it("?window changes the pixels: a narrow window saturates more", async () => {
    const url = await session("ct-explicit-le-ge-small.dcm");
    const count = async (q: string) => {
      const img = decodePng((await t.app.inject({ url: `${url}/instances/0/rendered${q}` })).rawPayload);
      return img.pixels.filter((v) => v === 0 || v === 255).length;
    };
    expect(await count("?window=40,80")).toBeGreaterThan(await count("?window=40,2000"));
  });

  it("406 for an Accept it cannot answer; 400 for a bad window, viewport or frame", async () => {
    const url = await session("mr-small-implicit-le.dcm");
    for (const accept of [
      "image/gif",
      "application/dicom",
      "image/png;q=0",
      "image/png;q=0, image/jpeg;q=0",
    ]) {
      const res = await t.app.inject({ url: `${url}/instances/0/rendered`, headers: { accept } });
      expect(res.statusCode, accept).toBe(406);
      expect(res.headers["content-type"]).toMatch(/^application\/problem\+json/);
    }
    // PNG unless JPEG is preferred (higher q, or named exactly against a wildcard).
    for (const [ok, type] of [
      ["image/*", "image/png"],
      ["*/*", "image/png"],
      ["text/html,image/png", "image/png"],
      ["image/jpeg, image/png", "image/png"],
      ["image/jpeg, image/png;q=0.5", "image/jpeg"],
      ["image/jpeg", "image/jpeg"],
      ["image/jpeg, image/*;q=0.5", "image/jpeg"],
    ]) {
      const res = await t.app.inject({ url: `${url}/instances/0/rendered`, headers: { accept: ok! } });
      expect(res.statusCode, ok).toBe(200);
      expect(res.headers["content-type"], ok).toBe(type);
      expect(res.headers.vary).toBe("accept");
    }
    for (const q of [
      "?window=abc",
      "?window=40,0",
      "?window=40,400,cubic",
      "?viewport=0,10",
      "?viewport=10",
      "?version=other",
    ]) {
      const res = await t.app.inject({ url: `${url}/instances/0/rendered${q}` });
      expect(res.statusCode, q).toBe(400);
      expect(res.headers["content-type"]).toMatch(/^application\/problem\+json/);
    }
    expect((await t.app.inject({ url: `${url}/instances/0/frames/0/rendered` })).statusCode).toBe(400);
  });

  it("404 problem+json for a missing session, instance or frame", async () => {
    const url = await session("mr-enhanced-multiframe.dcm"); // 10 frames
    for (const u of [
      `/sessions/00000000-0000-4000-8000-000000000000/instances/0/rendered`,
      `${url}/instances/5/rendered`,
      `${url}/instances/0/frames/11/rendered`,
      `${url}/instances/0/rendered?version=staged`,
    ]) {
      const res = await t.app.inject({ url: u });
      expect(res.statusCode, u).toBe(404);
      expect(res.headers["content-type"]).toMatch(/^application\/problem\+json/);
    }
    expect((await t.app.inject({ url: `${url}/instances/0/frames/10/rendered` })).statusCode).toBe(200);
  });

  it("422 problem+json naming the reason for a compressed syntax or an instance without pixels", async () => {
    // A real JPEG cine whose Transfer Syntax UID says JPEG 2000 Part 2 (1.2.4.92, same length): a
    // compressed syntax the pixel step has no decoder for.
    const part2 = corpusFile("us-multiframe-jpeg-baseline-ybr.dcm");
    const at = part2.indexOf("1.2.840.10008.1.2.4.50");
    expect(at).toBeGreaterThan(128);
    part2.write("1.2.840.10008.1.2.4.92", at, "latin1");
    for (const [file, reason] of [
      [part2, /1\.2\.840\.10008\.1\.2\.4\.92 is compressed/],
      ["sr-basic-text-pname.dcm", /no Pixel Data/],
      ["pm-parametric-map-float.dcm", /float pixel data/],
    ] as const) {
      const url = await session(file);
      const res = await t.app.inject({ url: `${url}/instances/0/rendered` });
      expect(res.statusCode, String(reason)).toBe(422);
      expect(res.headers["content-type"]).toMatch(/^application\/problem\+json/);
      expect(res.json().detail).toMatch(reason);
    }
  });

  it("staged instances render on the session and under /dicomweb/sessions by UIDs", async () => {
    const url = await session("mr-enhanced-multiframe.dcm");
    expect((await t.app.inject({ method: "POST", url: `${url}/apply?profile=basic` })).statusCode).toBe(200);
    const original = (await t.app.inject({ url: `${url}/instances/0/frames/3/rendered` })).rawPayload;
    const staged = (await t.app.inject({ url: `${url}/instances/0/frames/3/rendered?version=staged` }))
      .rawPayload;
    expect(decodePng(staged).pixels).toEqual(decodePng(original).pixels);
    const json = (
      await t.app.inject({
        url: `${url}/instances/0?version=staged`,
        headers: { accept: "application/dicom+json" },
      })
    ).json()[0];
    const uid = (tag: string) => json[tag].Value[0] as string;
    const base = `/dicomweb${url}/studies/${uid("0020000D")}/series/${uid("0020000E")}/instances/${uid("00080018")}`;
    const viaDicomweb = await t.app.inject({ url: `${base}/frames/3/rendered` });
    expect(viaDicomweb.statusCode).toBe(200);
    expect(decodePng(viaDicomweb.rawPayload).pixels).toEqual(decodePng(original).pixels);
    expect((await t.app.inject({ url: `${base}/rendered` })).statusCode).toBe(200);
    expect(
      (await t.app.inject({ url: `${base.replace(/instances\/[^/]+$/, "instances/1.2.3")}/rendered` }))
        .statusCode,
    ).toBe(404);
    expect(
      (await t.app.inject({ url: `${base}/rendered`, headers: { accept: "image/gif" } })).statusCode,
    ).toBe(406);
  });
});

describe.skipIf(!HAVE_DCMTK)(
  "a compressed frame renders exactly as the same frame decoded by a reference tool",
  () => {
    // Our codec's decode must not change the picture: the PNG of the compressed instance equals the
    // PNG of the instance dcmtk or GDCM decoded to native (same renderer, same window choice).
    const CASES: Array<[string, number, string[]]> = [
      ["us-philips-jpeg-lossless-sv1.dcm", 1, ["dcmdjpeg"]],
      ["ct-enhanced-multiframe-jpeg-extended.dcm", 2, ["dcmdjpeg"]],
      ["ct-enhanced-multiframe-jpeg-lossless-p14.dcm", 1, ["dcmdjpeg"]],
      ["mr-small-jpeg-ls-lossless.dcm", 1, ["dcmdjpls"]],
      ["ct-enhanced-multiframe-jpeg-ls-near-lossless.dcm", 2, ["dcmdjpls"]],
      ["mr-siemens-csa-jpeg2000-lossless.dcm", 1, ["gdcmconv", "--raw"]],
      ["nm-jpeg2000-lossy-ge-genie.dcm", 1, ["gdcmconv", "--raw"]],
    ];
    for (const [file, frame, tool] of CASES)
      it(`${file} frame ${frame} (reference: ${tool[0]})`, async () => {
        if (tool[0] === "gdcmconv" && !requireTool("gdcmconv", "libgdcm-tools")) return;
        const native = path.join(tmp, `${file}-ref-native.dcm`);
        const r = run(tool[0]!, [...tool.slice(1), path.join(CORPUS_DIR, file), native]);
        expect(r.status, r.stderr).toBe(0);
        const render = async (url: string) => {
          const res = await t.app.inject({
            url: `${url}/instances/0/frames/${frame}/rendered`,
            headers: { accept: "image/png" },
          });
          expect(res.statusCode, res.body.slice(0, 300)).toBe(200);
          return decodePng(res.rawPayload);
        };
        const compressed = await render(await session(file));
        const reference = await render(await session(fs.readFileSync(native)));
        expect(compare(compressed, reference)).toEqual({ off: 0, max: 0 });
      });
  },
);
