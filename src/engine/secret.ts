/** The UID / pseudonym secret: from configuration, or a random per-process one (with a warning). */
import crypto from "node:crypto";

export interface SecretSource {
  readonly secret: Buffer;
  /** True when no secret was configured: mappings will differ between processes and runs. */
  readonly ephemeral: boolean;
}

export function resolveSecret(configured: string | undefined): SecretSource {
  if (configured && configured.length > 0)
    return { secret: Buffer.from(configured, "utf8"), ephemeral: false };
  return { secret: crypto.randomBytes(32), ephemeral: true };
}
