/** One part of the system the health report looks at; `ok: false` makes the whole report degraded. */
export interface HealthCheck {
  readonly ok: boolean;
  readonly [detail: string]: unknown;
}

/**
 * What `GET /health` answers (the REST API's and the edge's): `ok` only once the system is ready
 * and every check passes, `starting` before, `stopping` after shutdown began, `degraded` while a
 * check fails.
 */
export interface HealthReport {
  readonly status: 'ok' | 'starting' | 'stopping' | 'degraded';
  readonly checks: Readonly<Record<string, HealthCheck>>;
}

/** The HTTP status a health report is answered with: load balancers and scripts read only this. */
export const healthStatusCode = (report: HealthReport): number => (report.status === 'ok' ? 200 : 503);
