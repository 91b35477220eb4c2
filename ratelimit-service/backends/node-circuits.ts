// One circuit breaker per Redis node. On a Cluster a dead master holds a share of the slots; with
// one circuit for the whole backend the answers from the live masters kept resetting its
// "failures in a row", so every request for the dead master's slots waited the full timeout
// until the Cluster itself declared the node failed (cluster-node-timeout, 15 s by default).
// Per node, the dead master's circuit opens after a few failures and its slots fail at once,
// while the others keep counting; a failover moves the slots to another node, and so to a
// circuit of its own.
import { CircuitBreaker, type CircuitOptions } from './circuit-breaker.js';

export class NodeCircuits {
  private readonly byNode = new Map<string, CircuitBreaker>();

  constructor(
    private readonly options: CircuitOptions,
    private readonly onChange?: (node: string, open: boolean) => void,
  ) {}

  of(node: string): CircuitBreaker {
    let breaker = this.byNode.get(node);
    if (!breaker) {
      const onChange = this.onChange;
      breaker = new CircuitBreaker(onChange ? { ...this.options, onChange: (open) => onChange(node, open) } : this.options);
      this.byNode.set(node, breaker);
    }
    return breaker;
  }

  /**
   * May a call that touches these nodes go out? All or none: a half-open circuit's one probe is
   * taken only when every node admits the call, so a refusal never strands a probe.
   * Returns the first node that refuses, or undefined.
   */
  refusing(nodes: readonly string[]): string | undefined {
    for (const node of nodes) if (this.of(node).blocked()) return node;
    for (const node of nodes) this.of(node).allow();
    return undefined;
  }
}
