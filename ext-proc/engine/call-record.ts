// What a finished model API call reports, once: to the metrics, and (with what was asked and
// answered) to the request log.
import type { CallFacts } from '../metrics/genai.js';

export interface CallRecord extends CallFacts {
  readonly requestId: string;
  readonly requestedModel: string;
  readonly status: number;
}
