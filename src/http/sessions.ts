/** /sessions: staged de-identification for a reviewer or a router (logic in src/sessions/service.ts). */
import type { FastifyInstance, FastifyRequest } from "fastify";
import { readPart10 } from "../dicom/part10.js";
import { datasetToJson } from "../dicom/json.js";
import { withoutBefore } from "../sessions/service.js";
import type { SessionMeta } from "../sessions/store.js";
import { DICOM, isProfilePart, readUpload } from "../upload/read-upload.js";
import type { UploadLimits, UploadPart } from "../upload/limits.js";
import type { AppContext } from "./context.js";
import { negotiate } from "./negotiate.js";
import { badRequest, notAcceptable } from "./problem.js";
import { customProfile, namedProfile, profileLabel, type ProfileChoice } from "./profile-choice.js";
import { sendResult } from "./send-result.js";
import { commitToDestination } from "./dicomweb.js";

/** A custom profile sent as a session preview or apply body. */
const MAX_PROFILE_BYTES = 1024 * 1024;

/** What a client sees: no owner, no version, no store keys. */
function view(meta: SessionMeta) {
  const { owner: _owner, version: _version, audit: _audit, instances, ...rest } = meta;
  return {
    ...rest,
    instances: instances.map(({ original: _o, staged: _s, ...info }) => info),
    counts: { instances: instances.length },
  };
}

/** Session uploads are instances only: a profile part has no meaning here. */
async function* instancesOnly(request: FastifyRequest, limits: UploadLimits): AsyncGenerator<UploadPart> {
  for await (const part of readUpload(request, limits)) {
    if (isProfilePart(part))
      throw badRequest("a session holds instances; name the profile at preview or apply");
    yield part;
  }
}

export default async function sessionRoutes(app: FastifyInstance, ctx: AppContext): Promise<void> {
  const { sessions } = ctx;
  const owner = ctx.authenticate;
  const profileOf = (name: string | undefined) =>
    namedProfile(ctx.registry, name ?? ctx.config.defaultProfile);

  app.post("/sessions", async (request, reply) => {
    const { limits, release } = ctx.upload();
    try {
      const { meta, rejected } = await sessions.create(instancesOnly(request, limits), owner(request));
      return reply
        .code(201)
        .header("location", `/sessions/${meta.id}`)
        .send({ ...view(meta), rejected });
    } finally {
      release();
    }
  });

  app.post<{ Params: { id: string } }>("/sessions/:id/instances", async (request) => {
    const who = owner(request);
    await sessions.get(request.params.id, who);
    const { limits, release } = ctx.upload();
    try {
      const { meta, rejected } = await sessions.add(request.params.id, who, instancesOnly(request, limits));
      return { ...view(meta), rejected };
    } finally {
      release();
    }
  });

  app.get<{ Params: { id: string } }>("/sessions/:id", async (request) =>
    view(await sessions.get(request.params.id, owner(request))),
  );

  /** ?profile=<name>, or a custom profile as the JSON body (not both). */
  const choiceOf = (request: FastifyRequest<{ Querystring: { profile?: string } }>): ProfileChoice => {
    if (!Buffer.isBuffer(request.body)) return profileOf(request.query.profile);
    if (request.query.profile !== undefined)
      throw badRequest("name a profile or send a custom one as the body, not both");
    return customProfile(ctx.registry, request.body);
  };

  const preview = async (
    request: FastifyRequest<{ Params: { id: string }; Querystring: { profile?: string } }>,
  ) => {
    const who = owner(request);
    const choice = choiceOf(request);
    const release = ctx.admit();
    try {
      return await sessions.preview(request.params.id, who, choice);
    } finally {
      release();
    }
  };
  const apply = async (
    request: FastifyRequest<{ Params: { id: string }; Querystring: { profile?: string } }>,
  ) => {
    const who = owner(request);
    const choice = choiceOf(request);
    const release = ctx.admit();
    try {
      const { meta, audit } = await sessions.apply(request.params.id, who, choice);
      for (const i of audit.instances)
        ctx.metrics.instances.inc({
          profile: choice.label,
          outcome: i.status === "anonymized" ? "staged" : "failed",
        });
      return { session: view(meta), audit };
    } finally {
      release();
    }
  };

  // A custom profile arrives as JSON on these two routes only (elsewhere bodies are instances).
  await app.register(async (scoped) => {
    scoped.addContentTypeParser(
      "application/json",
      { parseAs: "buffer", bodyLimit: MAX_PROFILE_BYTES },
      (_request, body, done) => done(null, body),
    );
    scoped.post("/sessions/:id/preview", preview);
    scoped.post("/sessions/:id/apply", apply);
  });

  app.get("/sessions/:id/preview", preview);

  app.post<{ Params: { id: string } }>("/sessions/:id/revert", async (request) =>
    view(await sessions.revert(request.params.id, owner(request))),
  );

  app.get<{ Params: { id: string; index: string }; Querystring: { version?: string } }>(
    "/sessions/:id/instances/:index",
    async (request, reply) => {
      const index = Number(request.params.index);
      if (!Number.isInteger(index) || index < 0)
        throw badRequest("the instance index is a non-negative integer");
      const version = request.query.version ?? "original";
      if (version !== "original" && version !== "staged")
        throw badRequest('version is "original" or "staged"');
      const data = await sessions.instance(request.params.id, owner(request), index, version);
      const accept = request.headers.accept ?? "application/dicom";
      if (/application\/dicom\+json/.test(accept)) {
        const parsed = readPart10(data);
        return reply
          .type("application/dicom+json")
          .send(JSON.stringify([datasetToJson(parsed.dataset, parsed.transferSyntax.encoding)]));
      }
      if (!/application\/dicom|\*\/\*|^$/.test(accept))
        throw notAcceptable("application/dicom or application/dicom+json");
      return reply.type(DICOM).send(data);
    },
  );

  app.post<{ Params: { id: string }; Querystring: { destination?: string } }>(
    "/sessions/:id/commit",
    async (request, reply) => {
      const who = owner(request);
      if (request.query.destination !== undefined)
        return commitToDestination(ctx, reply, request.params.id, who, request.query.destination);
      const format = negotiate(request.headers.accept);
      const { audit, outputs } = await sessions.commit(request.params.id, who);
      const label = profileLabel(ctx.registry, audit.profile.name);
      ctx.metrics.instances.inc({ profile: label, outcome: "committed" }, outputs.length);
      return sendResult(reply, format, withoutBefore(audit), outputs);
    },
  );

  app.delete<{ Params: { id: string } }>("/sessions/:id", async (request, reply) => {
    await sessions.remove(request.params.id, owner(request));
    return reply.code(204).send();
  });
}
