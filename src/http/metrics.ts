/**
 * Prometheus metrics. Labels are route patterns, profile names from the registry ("custom" for a
 * profile sent with a request), outcomes and status codes: never UIDs, values or raw URLs.
 */
import { collectDefaultMetrics, Counter, Histogram, Registry } from "prom-client";

export class Metrics {
  readonly registry = new Registry();
  readonly requests = new Counter({
    name: "dwanon_http_requests_total",
    help: 'HTTP requests by route pattern, method and status ("aborted": the client hung up first)',
    labelNames: ["route", "method", "status"] as const,
    registers: [this.registry],
  });
  readonly duration = new Histogram({
    name: "dwanon_http_request_duration_seconds",
    help: "HTTP request duration by route pattern",
    labelNames: ["route"] as const,
    buckets: [0.005, 0.01, 0.05, 0.1, 0.5, 1, 2, 5, 10, 30, 60, 300],
    registers: [this.registry],
  });
  readonly instances = new Counter({
    name: "dwanon_instances_total",
    help: "Instances processed by profile and outcome (anonymized, failed)",
    labelNames: ["profile", "outcome"] as const,
    registers: [this.registry],
  });
  readonly bytes = new Counter({
    name: "dwanon_bytes_total",
    help: "Instance bytes by profile and direction (in, out)",
    labelNames: ["profile", "direction"] as const,
    registers: [this.registry],
  });

  constructor() {
    collectDefaultMetrics({ register: this.registry, prefix: "dwanon_" });
  }
}
