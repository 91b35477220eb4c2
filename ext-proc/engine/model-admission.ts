// Calls of each model in flight through this processor, against the most its gateway cluster
// admits (the model table's `limits`: Envoy's in flight plus waiting). Past it Envoy would refuse
// the call anyway (503 upstream_overloaded) — after the router, and after the answer's round
// trips to the processor; refused here, a call costs the two messages already sent. Each
// processor counts only the calls it routed, never more than Envoy's own count of them, so with
// several processors it refuses later than Envoy, never sooner: Envoy's bounds stay the backstop.
export class ModelAdmission {
  private readonly inFlight = new Map<string, number>();

  /** Admit one call of `model` when fewer than `limit` are in flight; the caller leaves once, when the call ends. */
  enter(model: string, limit: number): boolean {
    const n = this.inFlight.get(model) ?? 0;
    if (n >= limit) return false;
    this.inFlight.set(model, n + 1);
    return true;
  }

  leave(model: string): void {
    const n = this.inFlight.get(model) ?? 0;
    if (n <= 1) this.inFlight.delete(model);
    else this.inFlight.set(model, n - 1);
  }

  /** Calls in flight by model (the metrics read it). */
  counts(): ReadonlyMap<string, number> {
    return this.inFlight;
  }
}
