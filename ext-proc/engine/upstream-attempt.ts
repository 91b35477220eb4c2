// The processor's upstream stage: one attempt of a call on a model's cluster, after Envoy has
// picked the instance (the first attempt and each retry on the next service). A service that
// knows the model by another name (a model-route's `Services: [{Service, Model}]`) gets the body
// with that name; every other attempt goes on untouched. Envoy sends the attempt's own body, so
// nothing of the call is kept here between streams.
import { encodeContinue, plainContinue, type Phase } from '../server/codec.js';

export class UpstreamAttempt {
  /** The picked instance's name for the model (its endpoint metadata); undefined: the gateway's name. */
  private hostModel: string | undefined;

  handle(p: Phase): Buffer {
    switch (p.kind) {
      case 'request_headers':
        this.hostModel = p.hostModel;
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
    if (!this.hostModel) return plainContinue('request_body');
    if (!endOfStream) throw new Error('the attempt\'s body arrived in parts; the stage reads it whole');
    // The gateway's stage has read this body already (a JSON object with a model).
    const parsed = JSON.parse(body.toString('utf8')) as Record<string, unknown>;
    if (parsed['model'] === this.hostModel) return plainContinue('request_body');
    const renamed = Buffer.from(JSON.stringify({ ...parsed, model: this.hostModel }));
    return encodeContinue('request_body', { setHeaders: [['content-length', String(renamed.length)]], body: renamed });
  }
}
