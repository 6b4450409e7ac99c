/**
 * GET .../rendered (PS3.18 rendered resources): a frame of a session instance as image/png (or
 * image/jpeg by Accept), on the session routes (original or staged) and under /dicomweb/sessions/...
 * (staged, by UIDs). Rendering itself is src/render/.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import { readInstanceHeader } from "../dicom/instance-header.js";
import { readPart10, type ParsedInstance } from "../dicom/part10.js";
import { encodeJpeg } from "../render/jpeg.js";
import { encodePng } from "../render/png.js";
import { RenderError, renderFrame, type Viewport, type VoiFunction, type Window } from "../render/render.js";
import type { AppContext } from "./context.js";
import { badRequest, notAcceptable, notFound, unprocessable } from "./problem.js";

const PNG = "image/png";
const JPEG = "image/jpeg";
export type RenderedType = typeof PNG | typeof JPEG;

/**
 * The media type of a rendered answer, by Accept: image/png or image/jpeg, the one with the higher
 * q (an exact range counts before image/* or *\/*); on a tie, or with no Accept, PNG (lossless).
 * Null when neither is acceptable (406).
 */
export function renderedType(accept: string | undefined): RenderedType | null {
  if (!accept || !accept.trim()) return PNG;
  const quality = (wanted: string): number => {
    let exact: number | undefined;
    let wildcard: number | undefined;
    for (const range of accept.split(",")) {
      const [type, ...params] = range.split(";").map((s) => s.trim().toLowerCase());
      const q = params.find((p) => p.startsWith("q="));
      const value = q === undefined ? 1 : Number(q.slice(2));
      const v = Number.isFinite(value) ? value : 0;
      if (type === wanted) exact = Math.max(exact ?? 0, v);
      else if (type === "image/*" || type === "*/*") wildcard = Math.max(wildcard ?? 0, v);
    }
    return exact ?? wildcard ?? 0;
  };
  const png = quality(PNG);
  const jpg = quality(JPEG);
  if (png <= 0 && jpg <= 0) return null;
  return jpg > png ? JPEG : PNG;
}

/** image/png or image/jpeg acceptable by this Accept header. */
export function acceptsPng(accept: string | undefined): boolean {
  return renderedType(accept) !== null;
}

const FUNCTIONS: readonly VoiFunction[] = ["linear", "linear-exact", "sigmoid"];

/** ?window=center,width[,function] (PS3.18 8.3.5.1.4). */
export function parseWindow(value: string | undefined): Window | undefined {
  if (value === undefined) return undefined;
  const [c, w, fn = "linear", ...rest] = value.split(",").map((s) => s.trim());
  const center = Number(c);
  const width = Number(w);
  const name = fn.toLowerCase() as VoiFunction;
  if (
    rest.length ||
    !c ||
    !w ||
    !Number.isFinite(center) ||
    !Number.isFinite(width) ||
    !FUNCTIONS.includes(name)
  )
    throw badRequest("window is center,width[,linear|linear-exact|sigmoid]");
  if (name === "linear" ? width < 1 : width <= 0)
    throw badRequest("the window width is at least 1 (linear) or above 0 (linear-exact, sigmoid)");
  return { center, width, fn: name };
}

const positive = (s: string | undefined) => /^\d{1,5}$/.test(s ?? "") && Number(s) > 0;

/** ?viewport=vw,vh[,sx,sy,sw,sh] (PS3.18 8.3.5.1.3). */
export function parseViewport(value: string | undefined): Viewport | undefined {
  if (value === undefined) return undefined;
  const parts = value.split(",").map((s) => s.trim());
  const ok =
    (parts.length === 2 || parts.length === 6) &&
    positive(parts[0]) &&
    positive(parts[1]) &&
    (parts.length === 2 ||
      (/^\d{1,5}$/.test(parts[2]!) &&
        /^\d{1,5}$/.test(parts[3]!) &&
        positive(parts[4]) &&
        positive(parts[5])));
  if (!ok) throw badRequest("viewport is vw,vh or vw,vh,sx,sy,sw,sh (non-negative integers, sizes above 0)");
  const [vw, vh, sx, sy, sw, sh] = parts.map(Number);
  return {
    width: vw!,
    height: vh!,
    ...(parts.length === 6 ? { region: { x: sx!, y: sy!, width: sw!, height: sh! } } : {}),
  };
}

function parseFrame(value: string | undefined): number {
  if (value === undefined) return 1;
  if (!/^\d{1,6}$/.test(value) || Number(value) < 1)
    throw badRequest("the frame number is an integer from 1");
  return Number(value);
}

interface RenderQuery {
  window?: string;
  viewport?: string;
  version?: string;
}

async function render(
  request: FastifyRequest<{ Querystring: RenderQuery }>,
  reply: FastifyReply,
  data: Buffer,
  frame: number,
) {
  let parsed: ParsedInstance;
  try {
    parsed = readPart10(data);
  } catch {
    throw unprocessable("the instance cannot be read as DICOM");
  }
  try {
    const image = await renderFrame(parsed, {
      frame,
      ...optional("window", parseWindow(request.query.window)),
      ...optional("viewport", parseViewport(request.query.viewport)),
    });
    const type = renderedType(request.headers.accept) ?? PNG;
    return reply
      .type(type)
      .header("cache-control", "no-store")
      .header("vary", "accept")
      .send(type === JPEG ? encodeJpeg(image) : encodePng(image));
  } catch (error) {
    if (!(error instanceof RenderError)) throw error;
    throw error.kind === "missing" ? notFound(error.message) : unprocessable(error.message);
  }
}

const optional = <K extends string, V>(key: K, value: V | undefined) =>
  (value === undefined ? {} : { [key]: value }) as Partial<Record<K, V>>;

export default async function renderedRoutes(app: FastifyInstance, ctx: AppContext): Promise<void> {
  const checkAccept = (request: FastifyRequest) => {
    if (!acceptsPng(request.headers.accept))
      throw notAcceptable("rendered resources here are image/png or image/jpeg");
  };

  const session = async (
    request: FastifyRequest<{
      Params: { id: string; index: string; frame?: string };
      Querystring: RenderQuery;
    }>,
    reply: FastifyReply,
  ) => {
    const owner = ctx.authenticate(request);
    const index = Number(request.params.index);
    if (!/^\d+$/.test(request.params.index) || !Number.isSafeInteger(index))
      throw badRequest("the instance index is a non-negative integer");
    const version = request.query.version ?? "original";
    if (version !== "original" && version !== "staged") throw badRequest('version is "original" or "staged"');
    const frame = parseFrame(request.params.frame);
    checkAccept(request);
    const data = await ctx.sessions.instance(request.params.id, owner, index, version);
    return render(request, reply, data, frame);
  };
  app.get("/sessions/:id/instances/:index/rendered", session);
  app.get("/sessions/:id/instances/:index/frames/:frame/rendered", session);

  const dicomweb = async (
    request: FastifyRequest<{
      Params: { id: string; study: string; series: string; sop: string; frame?: string };
      Querystring: RenderQuery;
    }>,
    reply: FastifyReply,
  ) => {
    const owner = ctx.authenticate(request);
    const frame = parseFrame(request.params.frame);
    checkAccept(request);
    const { study, series, sop } = request.params;
    // One staged blob, found by its SOP Instance UID in the staged audit; study and series checked on it.
    const data = await ctx.sessions.stagedInstance(request.params.id, owner, sop);
    const matches = (d: Buffer): boolean => {
      try {
        const h = readInstanceHeader(d);
        return h.studyInstanceUID === study && h.seriesInstanceUID === series && h.sopInstanceUID === sop;
      } catch {
        return false;
      }
    };
    if (!data || !matches(data)) throw notFound("no de-identified instance in this session matches");
    return render(request, reply, data, frame);
  };
  app.get("/dicomweb/sessions/:id/studies/:study/series/:series/instances/:sop/rendered", dicomweb);
  app.get(
    "/dicomweb/sessions/:id/studies/:study/series/:series/instances/:sop/frames/:frame/rendered",
    dicomweb,
  );
}
