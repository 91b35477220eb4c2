// V8 tuning for the processes on Envoy's request path (ext-authz, ratelimit-service).
//
// V8 "pretenures" an allocation site once most of its objects survive a young-generation
// collection: from then on they are allocated straight into the old generation. A burst of
// slow or concurrent calls is enough to tip the per-call objects (streams, buffers) over, and
// the decision sticks: every later call then feeds the old generation, and at a high call rate
// its mark-compacts set the tail latency (the figures, with and without: bench/RESULTS.md).
// These processes keep little for long, so nothing is lost by leaving every object young first.
import v8 from 'node:v8';

export function tuneGcForRequestPath(): void {
  v8.setFlagsFromString('--no-allocation-site-pretenuring');
}
