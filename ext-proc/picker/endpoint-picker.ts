// The endpoint picker: for a call to a model, the instance that should serve it — chosen from
// the model's pool as Envoy sees it (PoolView), by each instance's load (LoadScraper) and where
// the prompt's prefix was last sent (PrefixIndex) — or nothing, and Envoy balances as it would
// without a picker. The processor puts the choice in the call's dynamic metadata, which the
// model cluster's override-host policy reads (no client can set it).
import { pick, type PickWeights } from './pick.js';
import { LoadScraper } from './load-scraper.js';
import { PoolView } from './pool-view.js';
import { PrefixIndex, prefixBlocks, type PrefixOptions } from './prefix-index.js';

export interface PickerConfig {
  readonly xds: string;
  readonly nodeId: string;
  readonly scrapeIntervalMs: number;
  readonly metricsPath: string;
  readonly maxPools: number;
  readonly maxEndpoints: number;
  readonly prefix: PrefixOptions;
  readonly weights: PickWeights;
}

export interface PickOutcome {
  readonly address: string;
  readonly reason: 'prefix' | 'load' | 'saturated';
}

export interface PickerStats {
  picks(reason: PickOutcome['reason'] | 'none'): void;
}

export class EndpointPicker {
  readonly view: PoolView;
  readonly scraper: LoadScraper;
  private readonly prefixes: PrefixIndex;
  private readonly inFlight = new Map<string, number>();

  constructor(private readonly c: PickerConfig, private readonly stats: PickerStats, onError: (message: string) => void) {
    this.scraper = new LoadScraper({ intervalMs: c.scrapeIntervalMs, maxEndpoints: c.maxEndpoints, maxBytes: 1 << 20, path: c.metricsPath });
    // The scraper reads the endpoints of every watched pool, from the moment they are known.
    this.view = new PoolView({ xds: c.xds, nodeId: c.nodeId, maxPools: c.maxPools, onError, onChange: () => this.scraper.setEndpoints(this.view.addresses()) });
    this.prefixes = new PrefixIndex(c.prefix.maxEntries);
  }

  /** The models of a new table: their pools are watched from now on. */
  watch(models: Iterable<string>): void {
    this.view.watch(models);
  }

  /** The endpoint for a call of `model` with this prompt, or undefined (Envoy's balancing). */
  pick(model: string, prompt: string): PickOutcome | undefined {
    const pool = this.view.pool(model);
    if (!pool?.length) {
      this.stats.picks('none');
      return undefined;
    }
    const blocks = prefixBlocks(prompt, this.c.prefix);
    const candidates = pool.map((e) => ({ address: e.address, priority: e.priority, healthy: e.healthy, ...this.scraper.loadOf(e.address) }));
    const picked = pick(candidates, this.prefixes.matches(blocks), blocks.length, this.c.weights);
    this.stats.picks(picked?.reason ?? 'none');
    if (!picked) return undefined;
    if (blocks.length) this.prefixes.record(blocks, picked.address);
    this.scraper.sent(picked.address);
    this.inFlight.set(picked.address, (this.inFlight.get(picked.address) ?? 0) + 1);
    return picked;
  }

  /** The call sent to `address` is over. */
  done(address: string): void {
    const n = (this.inFlight.get(address) ?? 1) - 1;
    if (n > 0) this.inFlight.set(address, n);
    else this.inFlight.delete(address);
  }

  status(): Record<string, unknown> {
    return {
      xds: this.c.xds,
      connected: this.view.connected,
      pools_watched: this.view.watched,
      endpoints_read: this.scraper.endpoints,
      scrapes: this.scraper.scrapes,
      scrape_failures: this.scraper.failures,
      in_flight: Object.fromEntries(this.inFlight),
    };
  }

  close(): void {
    this.view.close();
    this.scraper.close();
  }

}
