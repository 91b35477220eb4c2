// V8 tuning for the processes on Envoy's request path (ext-authz, ratelimit-service).
//
// V8 "pretenures" an allocation site once most of its objects survive a young-generation
// collection: from then on they are allocated straight into the old generation. A burst of
// slow or concurrent calls is enough to tip the per-call objects (streams, buffers) over, and
// the decision sticks: every later call then feeds the old generation, which at 10k calls/s
// meant a mark-compact every 2–5 s with 11–16 ms marking steps — p99.9 18–20 ms, max 27 ms.
// With pretenuring off the same load showed p99 1.9 ms, p99.9 5.0 ms, max 8.6 ms and no
// mark-compact after start-up (ratelimit-service on Redis, one core, --trace-gc). These
// processes keep little for long, so nothing is lost by leaving every object young first.
import v8 from 'node:v8';

export function tuneGcForRequestPath(): void {
  v8.setFlagsFromString('--no-allocation-site-pretenuring');
}
