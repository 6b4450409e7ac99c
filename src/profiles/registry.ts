/**
 * Loads profile files from the built-in directory (profiles/) and an optional user directory,
 * validates them, resolves `extends` and compiles each into a Plan. Any problem stops loading.
 */
import fs from "node:fs";
import path from "node:path";
import { ProfileError } from "../errors.js";
import { compilePlan, type Plan } from "../engine/plan.js";
import { packageRoot } from "../package-root.js";
import type { ProfileFile } from "./types.js";
import { validateProfile } from "./validate.js";

/** The shipped profiles: `profiles/` at the package root. */
export function builtinProfileDir(): string {
  return path.join(packageRoot(), "profiles");
}

export interface ProfileSummary {
  readonly name: string;
  readonly description: string;
  readonly version: string;
  readonly extends: string | null;
  readonly options: readonly string[];
  readonly ruleCount: number;
}

export class ProfileRegistry {
  /** Compiled on first use: a CLI run needs one plan, not all of them. */
  private readonly plans = new Map<string, Plan>();

  private constructor(
    private readonly files: ReadonlyMap<string, ProfileFile>,
    private readonly origins: ReadonlyMap<string, string>,
  ) {}

  static load(dirs: readonly string[] = [builtinProfileDir()]): ProfileRegistry {
    const files = new Map<string, ProfileFile>();
    const origin = new Map<string, string>();
    for (const dir of dirs) {
      for (const name of fs
        .readdirSync(dir)
        .filter((f) => f.endsWith(".json"))
        .sort()) {
        const file = path.join(dir, name);
        const profile = readProfileFile(file);
        const earlier = origin.get(profile.name);
        if (earlier)
          throw new ProfileError(
            `${file}: $.name`,
            `profile "${profile.name}" is also defined in ${earlier}`,
          );
        files.set(profile.name, profile);
        origin.set(profile.name, file);
      }
    }
    // Every chain is resolved now, so an unknown parent or a cycle stops loading, compiled or not.
    for (const [name, profile] of files) chainOf(profile, files, origin.get(name)!);
    return new ProfileRegistry(files, origin);
  }

  get(name: string): Plan | undefined {
    let plan = this.plans.get(name);
    const profile = this.files.get(name);
    if (!plan && profile) {
      plan = compilePlan(chainOf(profile, this.files, this.origins.get(name)!));
      this.plans.set(name, plan);
    }
    return plan;
  }

  names(): string[] {
    return [...this.files.keys()];
  }

  list(): ProfileSummary[] {
    return this.names()
      .map((name) => this.get(name)!)
      .map((plan) => ({
        name: plan.name,
        description: plan.description,
        version: plan.version,
        extends: plan.extends ?? null,
        options: plan.options,
        ruleCount: plan.ruleCount,
      }));
  }

  /** A profile sent with a request (either format); it may extend any loaded profile. */
  compileCustom(json: unknown, label = "request"): Plan {
    const profile = validateProfile(json, label, "custom", { fromRequest: true });
    return compilePlan(chainOf(profile, this.files, label));
  }
}

export function readProfileFile(file: string): ProfileFile {
  let json: unknown;
  try {
    json = JSON.parse(fs.readFileSync(file, "utf8"));
  } catch (error) {
    throw new ProfileError(`${file}: $`, `is not valid JSON (${(error as Error).message})`);
  }
  return validateProfile(json, file, path.basename(file, ".json"), {
    baseDir: path.dirname(path.resolve(file)),
  });
}

/** [root, ..., profile]: follows `extends`, refusing unknown parents and cycles. */
function chainOf(
  profile: ProfileFile,
  files: ReadonlyMap<string, ProfileFile>,
  where: string,
): ProfileFile[] {
  const chain = [profile];
  const seen = new Set([profile.name]);
  let current = profile;
  while (current.extends !== undefined) {
    const parent = files.get(current.extends);
    if (!parent) throw new ProfileError(`${where}: $.extends`, `unknown profile "${current.extends}"`);
    if (seen.has(parent.name))
      throw new ProfileError(`${where}: $.extends`, `profile "${parent.name}" extends itself`);
    seen.add(parent.name);
    chain.unshift(parent);
    current = parent;
  }
  return chain;
}
