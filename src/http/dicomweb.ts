/**
 * DICOMweb: a STOW-RS destination (PS3.18 10.5) that de-identifies and forwards to the configured
 * PACS, or stages the study in a session for review; and WADO-RS retrieve of a session's
 * de-identified instances.
 *
 * The Store Instances Response lists the instances by the SOP Instance UIDs the sender sent (so a
 * router can reconcile), with Retrieve URLs that point at the de-identified copies.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import type { AnonymizedInstance } from "../engine/anonymize.js";
import { readInstanceHeader, type InstanceHeader } from "../dicom/instance-header.js";
import {
  FailureReason,
  stowResponse,
  stowStatus,
  type StowFailure,
  type StowReference,
} from "../dicomweb/stow-response.js";
import { buildAudit } from "../respond/audit.js";
import { multipartBody } from "../respond/multipart.js";
import type { UploadPart } from "../upload/limits.js";
import { DICOM, isProfilePart, parseMediaType, readUpload } from "../upload/read-upload.js";
import { Readable } from "node:stream";
import type { Owner } from "./auth.js";
import { InFlight } from "./in-flight.js";
import type { AppContext } from "./context.js";
import { badRequest, HttpProblem, notAcceptable, notFound, unsupportedMediaType } from "./problem.js";
import { namedProfile, profileLabel } from "./profile-choice.js";

const DICOM_JSON = "application/dicom+json";

function headerOf(data: Buffer): InstanceHeader | undefined {
  try {
    return readInstanceHeader(data);
  } catch {
    return undefined;
  }
}

const reasonFor = (code: string) =>
  code === "DICOM_PARSE" || code === "NOT_AN_INSTANCE"
    ? FailureReason.cannotUnderstand
    : FailureReason.processingFailure;

function baseUrl(request: FastifyRequest): string {
  return `${request.protocol}://${request.headers.host ?? "localhost"}`;
}

/** STOW-RS answers DICOM JSON; XML is not offered. */
function acceptsDicomJson(accept: string | undefined): boolean {
  if (!accept) return true;
  return accept
    .split(",")
    .some((r) => /^\s*(application\/dicom\+json|application\/json|application\/\*|\*\/\*)\s*(;|$)/i.test(r));
}

function sendStow(
  reply: FastifyReply,
  referenced: StowReference[],
  failed: StowFailure[],
  retrieveURL?: string,
): FastifyReply {
  return reply
    .code(stowStatus(referenced.length, failed.length))
    .type(DICOM_JSON)
    .send(JSON.stringify(stowResponse(referenced, failed, retrieveURL)));
}

/**
 * POST /sessions/{id}/commit?destination=<name>: the forwarding service sends what the destination
 * has not acknowledged yet; this maps its result to the Store Instances Response (502 when the
 * destination could not take what is left).
 */
export async function commitToDestination(
  ctx: AppContext,
  reply: FastifyReply,
  id: string,
  owner: Owner,
  name: string,
): Promise<FastifyReply> {
  const result = await ctx.forwarding.forwardSession(id, owner, name);
  ctx.metrics.instances.inc(
    { profile: profileLabel(ctx.registry, result.profileName), outcome: "forwarded" },
    result.newly,
  );
  if (result.problem !== undefined)
    throw new HttpProblem(
      502,
      "Bad Gateway",
      `the destination did not take the instances (${result.problem}); what it acknowledged is recorded, retry later`,
    );
  reply.header("location", `/sessions/${id}`);
  return sendStow(reply, result.referenced, result.failed);
}

export default async function dicomwebRoutes(app: FastifyInstance, ctx: AppContext): Promise<void> {
  const stow = async (
    request: FastifyRequest<{
      Params: { profile?: string; study?: string };
      Querystring: { destination?: string };
    }>,
    reply: FastifyReply,
  ) => {
    const owner = ctx.authenticate(request);
    const media = parseMediaType(request.headers["content-type"]);
    if (media?.type !== "multipart/related" || (media.params.type ?? DICOM).toLowerCase() !== DICOM) {
      throw unsupportedMediaType('STOW-RS takes multipart/related; type="application/dicom"');
    }
    if (!acceptsDicomJson(request.headers.accept))
      throw notAcceptable("STOW-RS answers application/dicom+json");
    const choice = namedProfile(ctx.registry, request.params.profile ?? ctx.config.defaultProfile);
    const expectedStudy = request.params.study;
    // ?destination=NAME forwards to a named destination; without it, "default" if configured.
    const destination =
      request.query.destination !== undefined
        ? ctx.forwarding.destination(request.query.destination)
        : ctx.forwarding.defaultDestination;
    const { limits, release } = ctx.upload();
    try {
      const failed: StowFailure[] = [];
      const parts = readUpload(request, limits);
      const screened = async function* (): AsyncGenerator<{ part: UploadPart; header: InstanceHeader }> {
        for await (const part of parts) {
          if (isProfilePart(part))
            throw badRequest("STOW-RS takes instances only; the profile is in the URL");
          const header = headerOf(part.data);
          if (!header || !header.sopInstanceUID) {
            failed.push({
              sopClassUID: header?.sopClassUID ?? "",
              sopInstanceUID: header?.sopInstanceUID ?? "",
              reason: FailureReason.cannotUnderstand,
            });
            continue;
          }
          // PS3.18 10.5: an instance of another study than the one in the URL is not stored.
          if (expectedStudy !== undefined && header.studyInstanceUID !== expectedStudy) {
            failed.push({
              sopClassUID: header.sopClassUID,
              sopInstanceUID: header.sopInstanceUID,
              reason: FailureReason.doesNotMatch,
            });
            continue;
          }
          yield { part, header };
        }
      };
      const screenedParts = async function* (): AsyncGenerator<UploadPart> {
        for await (const { part } of screened()) yield part;
      };

      if (!destination) {
        // No destination: the study waits in a session for review (preview / apply / commit).
        const { meta, rejected } = await ctx.sessions
          .create(screenedParts(), owner)
          .catch((error: unknown) => {
            if (error instanceof HttpProblem && error.status === 422)
              return { meta: undefined, rejected: [] };
            throw error;
          });
        for (let i = 0; i < rejected.length; i++)
          failed.push({ sopClassUID: "", sopInstanceUID: "", reason: FailureReason.cannotUnderstand });
        const referenced = (meta?.instances ?? []).map((i) => ({
          sopClassUID: i.sopClassUID,
          sopInstanceUID: i.sopInstanceUID,
        }));
        if (meta) reply.header("location", `/sessions/${meta.id}`);
        return sendStow(
          reply,
          referenced,
          failed,
          meta ? `${baseUrl(request)}/sessions/${meta.id}` : undefined,
        );
      }

      // With a destination: de-identify, forward, and keep whatever the destination did not take.
      const tasks: Array<
        Promise<{ header: InstanceHeader; outcome: Awaited<ReturnType<typeof ctx.engine.anonymize>> }>
      > = [];
      // As /anonymize: a bounded number of instances in flight, so a large study never queues
      // unbounded work.
      const inFlight = new InFlight(ctx.process.maxInFlight);
      for await (const { part, header } of screened()) {
        const task = ctx.engine
          .anonymize(part.data, choice.ref, true)
          .then((outcome) => ({ header, outcome }));
        tasks.push(task);
        await inFlight.add(task);
      }
      const results = await Promise.all(tasks);
      ctx.countInstances(
        choice.label,
        results.map((r) => r.outcome),
      );
      const done: Array<{ header: InstanceHeader; outcome: AnonymizedInstance }> = [];
      for (const r of results) {
        if (r.outcome.status === "anonymized") done.push({ header: r.header, outcome: r.outcome });
        else
          failed.push({
            sopClassUID: r.header.sopClassUID,
            sopInstanceUID: r.header.sopInstanceUID,
            reason: reasonFor(r.outcome.code),
          });
      }
      if (done.length === 0) return sendStow(reply, [], failed);

      const forward = await ctx.forwarding.forward(
        destination.name,
        done.map((d) => ({ sopInstanceUID: d.outcome.sopInstanceUID, data: d.outcome.output })),
      );
      const destinationStudy = (study: string) => `${destination.url.replace(/\/+$/, "")}/${study}`;
      const referenced: StowReference[] = [];
      const leftover: Array<{ header: InstanceHeader; outcome: AnonymizedInstance }> = [];
      for (const d of done) {
        if (forward.stored.has(d.outcome.sopInstanceUID)) {
          referenced.push({
            sopClassUID: d.header.sopClassUID,
            sopInstanceUID: d.header.sopInstanceUID,
            retrieveURL: destinationStudy(d.outcome.studyInstanceUID),
          });
        } else {
          leftover.push(d);
          failed.push({
            sopClassUID: d.header.sopClassUID,
            sopInstanceUID: d.header.sopInstanceUID,
            reason: forward.failed.get(d.outcome.sopInstanceUID) ?? FailureReason.outOfResources,
          });
        }
      }
      ctx.metrics.instances.inc({ profile: choice.label, outcome: "forwarded" }, referenced.length);
      if (leftover.length > 0) {
        // Nothing is lost: the de-identified instances the destination did not take wait in a
        // session; POST /sessions/{id}/commit?destination=<the same name> retries.
        const audit = buildAudit(
          choice.plan,
          leftover.map((l) => l.outcome),
        );
        const meta = await ctx.sessions.createStaged(
          leftover.map((l) => ({ outcome: l.outcome, modality: l.header.modality })),
          audit,
          owner,
        );
        request.log.warn(
          {
            route: request.routeOptions.url,
            destination: forward.problem ?? "rejected some",
            kept: leftover.length,
          },
          "destination did not take every instance; kept in a session",
        );
        reply.header("location", `/sessions/${meta.id}`);
        return sendStow(
          reply,
          referenced,
          failed,
          `${baseUrl(request)}/dicomweb/sessions/${meta.id}/studies/${leftover[0]!.outcome.studyInstanceUID}`,
        );
      }
      return sendStow(reply, referenced, failed, referenced[0]?.retrieveURL);
    } finally {
      release();
    }
  };

  app.post("/dicomweb/studies", stow);
  app.post("/dicomweb/studies/:study", stow);
  app.post("/dicomweb/profiles/:profile/studies", stow);
  app.post("/dicomweb/profiles/:profile/studies/:study", stow);

  // WADO-RS retrieve of a session's de-identified instances.
  const retrieve = async (
    request: FastifyRequest<{ Params: { id: string; study: string; series?: string; sop?: string } }>,
    reply: FastifyReply,
  ) => {
    const owner = ctx.authenticate(request);
    const accept = request.headers.accept ?? "";
    if (accept && !/multipart\/related|\*\/\*/.test(accept))
      throw notAcceptable('WADO-RS here answers multipart/related; type="application/dicom"');
    const { outputs } = await ctx.sessions.staged(request.params.id, owner);
    const { study, series, sop } = request.params;
    const matching = outputs.filter((o) => {
      const h = headerOf(o.data);
      return (
        h &&
        h.studyInstanceUID === study &&
        (series === undefined || h.seriesInstanceUID === series) &&
        (sop === undefined || h.sopInstanceUID === sop)
      );
    });
    if (matching.length === 0) throw notFound("no de-identified instance in this session matches");
    const body = multipartBody(
      "related",
      matching.map((m) => ({ contentType: DICOM, data: m.data })),
      DICOM,
    );
    return reply
      .type(body.contentType)
      .header("content-length", String(body.length))
      .send(Readable.from(body.chunks));
  };
  app.get("/dicomweb/sessions/:id/studies/:study", retrieve);
  app.get("/dicomweb/sessions/:id/studies/:study/series/:series", retrieve);
  app.get("/dicomweb/sessions/:id/studies/:study/series/:series/instances/:sop", retrieve);
}
