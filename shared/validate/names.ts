// Names several components agree on: request header names (as the gateway lets them through),
// service names (Consul's, DNS labels) and policy names.
import { z } from 'zod';
import { refused, valid, type Checked } from './result.js';

/** RFC 9110 token characters, lower case (HTTP/2 and Envoy carry names in lower case). */
const TOKEN = /^[a-z0-9!#$%&'*+.^`|~_-]+$/;

/**
 * A request header name the gateway lets through: a lower-case token without "_", because the
 * gateway's listener drops headers with underscores (headers_with_underscores_action:
 * DROP_HEADER, so that x_user cannot alias x-user upstream) — a credential or a match on such a
 * header would never see it.
 */
export function checkHeaderName(field: string, raw: string): Checked<string> {
  if (!raw) return refused(field, 'must not be empty');
  if (raw !== raw.toLowerCase()) return refused(field, `${JSON.stringify(raw)} must be lower case`);
  if (!TOKEN.test(raw)) return refused(field, `${JSON.stringify(raw)} is not an HTTP header name`);
  if (raw.includes('_')) return refused(field, `${JSON.stringify(raw)} has "_": the gateway drops request headers with underscores, so it would never arrive (use "${raw.replace(/_/g, '-')}")`);
  return valid(raw);
}

/** The same check as a zod schema: `headerName` keeps case as given when `anyCase`. */
export function headerNameSchema(options: { anyCase?: boolean } = {}): z.ZodType<string> {
  return z.string().superRefine((raw, ctx) => {
    const r = checkHeaderName('', options.anyCase ? raw.toLowerCase() : raw);
    if (!r.ok) ctx.addIssue({ code: 'custom', message: r.reason });
  });
}

const SERVICE = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;
export const SERVICE_NAME_HINT = 'a service name (lower-case letters, digits, "-", at most 63)';

export function isServiceName(raw: string): boolean {
  return SERVICE.test(raw);
}

export const serviceName = z.string().regex(SERVICE, `must be ${SERVICE_NAME_HINT}`);

const POLICY = /^[a-z0-9][a-z0-9._-]{0,62}$/;
export const POLICY_NAME_HINT = 'a policy name (lower-case letters, digits, ".", "_", "-", at most 63)';

export function isPolicyName(raw: string): boolean {
  return POLICY.test(raw);
}

export const policyName = z.string().regex(POLICY, `must be ${POLICY_NAME_HINT}`);

/** A model name as OpenAI-style clients send it ("llama-3.1-8b", "org/model:tag"). */
export const MODEL_NAME = /^[A-Za-z0-9][A-Za-z0-9._:\/@-]{0,127}$/;
