/** GET /profiles and GET /profiles/{name}: what each profile does, with the compiled rules. */
import type { FastifyInstance } from "fastify";
import type { CompiledRule, Plan } from "../engine/plan.js";
import { tagParen } from "../dicom/tag.js";
import { keywordOf } from "../dicom/dictionary.js";
import type { AppContext } from "./context.js";
import { notFound } from "./problem.js";

function compiledRules(plan: Plan): Array<Record<string, unknown>> {
  // A lookup table's entries re-identify: the listing names the table (the rule's `lookup`), never its rows.
  const strip = ({ selector: _s, lookupTable: _l, ...action }: CompiledRule) => action;
  return [
    ...[...plan.exact]
      .sort(([a], [b]) => a - b)
      .map(([tag, rule]) => ({ tag: tagParen(tag), keyword: keywordOf(tag) ?? null, ...strip(rule) })),
    ...plan.patterns.map((p) => ({ pattern: p.rule.selector, ...strip(p.rule) })),
    ...[...plan.privateRules].map(([key, rule]) => {
      const [privateCreator, group, element] = key.split("|");
      return { privateCreator, group: group || null, element: element || null, ...strip(rule) };
    }),
  ];
}

export default async function profileRoutes(app: FastifyInstance, ctx: AppContext): Promise<void> {
  app.get("/profiles", async () => ({ profiles: ctx.registry.list(), default: ctx.config.defaultProfile }));

  app.get<{ Params: { name: string } }>("/profiles/:name", async (request) => {
    const plan = ctx.registry.get(request.params.name);
    if (!plan) throw notFound("no profile has this name; GET /profiles lists them");
    const summary = ctx.registry.list().find((p) => p.name === plan.name)!;
    return {
      ...summary,
      edition: plan.edition ?? null,
      defaults: {
        private: plan.privateDefault.action,
        unlisted: plan.unlistedDefault.action,
        unknown: plan.unknownDefault.action,
      },
      methodCodes: plan.methodCodes,
      longitudinalTemporalInformationModified: plan.longitudinal,
      burnedInAnnotation: plan.burnedInAnnotation,
      rules: compiledRules(plan),
    };
  });
}
