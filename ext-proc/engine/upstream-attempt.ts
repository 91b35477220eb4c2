// The processor's upstream stage: one attempt of a call on a model's cluster, after Envoy has
// picked the instance (the first attempt and each retry on the next service). A service that
// knows the model by another name (a model-route's `Services: [{Service, Model}]`) gets the body
// with that name; for a model whose services speak different dialects, each attempt is written
// in the dialect of the service it goes to — from the caller's own request, whose path the
// gateway's stage filed in CLIENT_PATH_HEADER (Envoy keeps one attempt's header changes for the
// next, and the body as the caller sent it). Every other attempt goes on untouched. Nothing of
// the call is kept here between streams: any instance of the processor can serve any attempt.
import { CLIENT_PATH_HEADER, DIALECTS, type Dialect } from '../../shared/llm-gateway.js';
import { encodeContinue, encodeImmediate, plainContinue, type Phase } from '../server/codec.js';
import { apiErrorBody, callOf, dialectRequest, isApiError } from './dialect-call.js';
const isDialect = (x: string | undefined): x is Dialect => x !== undefined && (DIALECTS as readonly string[]).includes(x);

export class UpstreamAttempt {
  /** The picked instance's name for the model (its endpoint metadata); undefined: the gateway's name. */
  private hostModel: string | undefined;
  /** The dialect the picked instance speaks, for a model whose services differ. */
  private hostDialect: Dialect | undefined;
  /** The path the caller called (the gateway's stage says it when the services' dialects differ). */
  private clientPath: string | undefined;

  handle(p: Phase): Buffer {
    switch (p.kind) {
      case 'request_headers':
        this.hostModel = p.hostModel;
        this.hostDialect = isDialect(p.hostDialect) ? p.hostDialect : undefined;
        this.clientPath = p.headers.get(CLIENT_PATH_HEADER);
        return plainContinue('request_headers');
      case 'request_body':
        return this.requestBody(p.body, p.endOfStream);
      case 'unreadable':
        throw new Error(p.reason);
      default:
        // The stage is configured for the request alone; anything else is not Envoy as configured.
        throw new Error(`the upstream stage reads the request only, not ${p.kind}`);
    }
  }

  private requestBody(body: Buffer, endOfStream: boolean): Buffer {
    if (!this.hostModel && !this.hostDialect) return plainContinue('request_body');
    if (!endOfStream) throw new Error('the attempt\'s body arrived in parts; the stage reads it whole');
    // The gateway's stage has read this body already (a JSON object with a model).
    const parsed = JSON.parse(body.toString('utf8')) as Record<string, unknown>;
    const model = this.hostModel ?? String(parsed['model']);
    const { operation, client } = callOf(this.clientPath ?? '');
    if (this.hostDialect && this.clientPath && operation) {
      const d = dialectRequest(client, this.hostDialect, operation, parsed, model);
      // What this service's dialect cannot say is refused for this attempt, in the caller's words.
      if (isApiError(d)) return encodeImmediate(d.status, apiErrorBody(client, d), [], `meshgate_llm_${d.code ?? 'invalid_request'}`);
      // The path always set: an earlier attempt on another service may have changed it.
      const headers = d.setHeaders.some(([k]) => k === ':path') ? d.setHeaders : [[':path', this.clientPath] as const, ...d.setHeaders];
      return encodeContinue('request_body', { setHeaders: headers, ...(d.body ? { body: d.body } : {}) });
    }
    if (parsed['model'] === model) return plainContinue('request_body');
    const renamed = Buffer.from(JSON.stringify({ ...parsed, model }));
    return encodeContinue('request_body', { setHeaders: [['content-length', String(renamed.length)]], body: renamed });
  }
}
