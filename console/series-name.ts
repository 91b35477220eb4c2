/** The charts of a service: the same names from Prometheus' recorded series and from the console's own scrape. */
export type SeriesName = 'rps' | 'errors' | 'success' | 'p50' | 'p99' | 'bytesIn' | 'bytesOut' | 'tokens' | 'ttft' | 'refused';
