// ext-authz's Prometheus metrics. Policy labels are bounded by the policies in force: a name
// that is not defined is counted as "undefined", so requests cannot create series.
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

export class AuthzMetrics {
  readonly registry = new Registry();
  readonly decisions = new Counter({
    name: 'meshgate_authz_decisions_total',
    help: 'Check decisions by policy and result (allowed, unauthenticated, forbidden, dry_run_allowed)',
    labelNames: ['policy', 'result'],
    registers: [this.registry],
  });
  readonly wouldDeny = new Counter({
    name: 'meshgate_authz_dry_run_would_deny_total',
    help: 'Requests a dry-run policy let through but would have denied',
    labelNames: ['policy'],
    registers: [this.registry],
  });
  readonly latency = new Histogram({
    name: 'meshgate_authz_check_duration_seconds',
    help: 'Time to decide one Check, from request decoded to response encoded',
    labelNames: ['policy'],
    buckets: [0.000025, 0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.1, 0.5],
    registers: [this.registry],
  });
  readonly refusals = new Counter({
    name: 'meshgate_authz_document_refusals_total',
    help: 'Policy documents refused (invalid); the last good version stays in force',
    labelNames: ['source'],
    registers: [this.registry],
  });
  readonly decisionLogDropped = new Counter({
    name: 'meshgate_authz_decision_log_dropped_total',
    help: 'Decision log lines dropped because stdout fell more than 8 MiB behind',
    registers: [this.registry],
  });
  readonly policies = new Gauge({ name: 'meshgate_authz_policies', help: 'Policies in force', registers: [this.registry] });
  readonly jwksFetches = new Counter({
    name: 'meshgate_authz_jwks_fetches_total',
    help: 'JWKS fetches by result',
    labelNames: ['result'],
    registers: [this.registry],
  });
  readonly tokens = new Counter({
    name: 'meshgate_authz_tokens_total',
    help: 'Token endpoint answers: issued, or the OAuth error refused with (invalid_client, invalid_grant, …), by grant',
    labelNames: ['grant', 'result'],
    registers: [this.registry],
  });
  readonly consulWatchErrors = new Counter({ name: 'meshgate_consul_watch_errors_total', help: 'Failed Consul blocking queries', labelNames: ['watch'], registers: [this.registry] });

  constructor() {
    collectDefaultMetrics({ register: this.registry });
  }
}
