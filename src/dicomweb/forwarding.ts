/**
 * The one forwarding service: named STOW-RS destinations (configuration validated at start), used by
 * the STOW-RS route, by POST /sessions/{id}/commit?destination=NAME and by the job workers. HTTP is
 * not its business (src/http/ maps what it returns to replies), as src/sessions/service.ts.
 *
 * A destination's auth header is a secret: describe() and every error leave it out.
 */
import type { Endpoint } from "../config.js";
import { notFound } from "../http/problem.js";
import type { SessionService } from "../sessions/service.js";
import { forwardInstances, type Destination, type ForwardResult } from "./stow-client.js";
import { FailureReason, type StowFailure, type StowReference } from "./stow-response.js";

export interface SessionForward {
  readonly referenced: StowReference[];
  readonly failed: StowFailure[];
  /** Instances the destination acknowledged by this call. */
  readonly newly: number;
  /** The session's profile (for metrics). */
  readonly profileName: string;
  /** Set when the destination could not be reached or answered 5xx and something is left. */
  readonly problem?: string;
}

export class ForwardingService {
  private readonly byName: ReadonlyMap<string, Destination>;

  constructor(
    destinations: readonly Endpoint[],
    private readonly sessions: SessionService,
  ) {
    this.byName = new Map(destinations.map((d) => [d.name, d]));
  }

  /** The destination STOW-RS forwards to when the request names none: "default", if configured. */
  get defaultDestination(): Destination | undefined {
    return this.byName.get("default");
  }

  /** The named destination, or a 404 problem naming the parameter (never echoing the value). */
  destination(name: string, parameter = "destination"): Destination {
    const found = this.byName.get(name);
    if (!found)
      throw notFound(
        `the ${parameter} parameter names no configured destination (DESTINATION_STOW_URL gives "default"; DESTINATIONS lists others)`,
      );
    return found;
  }

  /** One STOW-RS request with these instances to the named destination. */
  async forward(
    name: string,
    instances: ReadonlyArray<{ sopInstanceUID: string; data: Buffer }>,
  ): Promise<ForwardResult> {
    return forwardInstances(this.destination(name), instances);
  }

  /**
   * commit?destination=<name>: forward a session's staged instances by STOW-RS, under its lease (a
   * concurrent commit is a 409). Only what the destination has not acknowledged yet is sent; the
   * result covers the whole session.
   */
  async forwardSession(id: string, owner: string | null, name: string): Promise<SessionForward> {
    const destination = this.destination(name);
    let problem: string | undefined;
    const failures = new Map<string, number>();
    const { meta, audit, outputs, sent } = await this.sessions.forward(id, owner, async (pending) => {
      const result = await forwardInstances(destination, pending);
      if (!result.reached || result.status >= 500) problem = result.problem ?? `status ${result.status}`;
      for (const [uid, reason] of result.failed) failures.set(uid, reason);
      return result;
    });
    const referenced: StowReference[] = [];
    const failed: StowFailure[] = [];
    for (const o of outputs) {
      const info = meta.instances[o.position];
      if (info?.acknowledged)
        referenced.push({ sopClassUID: info.sopClassUID, sopInstanceUID: o.sopInstanceUID });
      else
        failed.push({
          sopClassUID: info?.sopClassUID ?? "",
          sopInstanceUID: o.sopInstanceUID,
          reason: failures.get(o.sopInstanceUID) ?? FailureReason.processingFailure,
        });
    }
    const newly = sent.filter((o) => meta.instances[o.position]?.acknowledged).length;
    return {
      referenced,
      failed,
      newly,
      profileName: audit.profile.name,
      ...(problem !== undefined && failed.length > 0 ? { problem } : {}),
    };
  }
}
