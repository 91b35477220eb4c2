// ext-authz settings from the command line, then the environment, then defaults.
import { hostPort } from '../shared/host-port.js';
import { durationFlag } from '../shared/validate/duration.js';
import { checkHeaderName, isPolicyName, POLICY_NAME_HINT } from '../shared/validate/names.js';
import { orThrow } from '../shared/validate/result.js';
import { parseArgs } from 'node:util';
import { COMPONENT_OPTIONS, H2_LIMITS_USAGE, componentConfig, type ComponentConfig } from '../shared/component-config.js';
import { positiveInteger } from '../shared/validate/positive-integer.js';
import { DEFAULT_KDF_POOL, type FairPoolOptions } from './credentials/fair-pool.js';
import type { DecisionLogMode } from './decision-log.js';
import { DEFAULT_REVOCATIONS_PREFIX } from './token/revocations.js';
import { DEFAULT_IDENTITY_HEADERS, IDENTITY_FIELDS, type IdentityField, type IdentityHeaderNames } from './identity.js';

export interface AuthzConfig extends ComponentConfig {
  readonly policyFiles: readonly string[];
  readonly identityHeaders: IdentityHeaderNames;
  readonly decisionLog: DecisionLogMode;
  readonly kdf: FairPoolOptions;
  /** meshgate's own token endpoint (ext-authz/token/), when --token-listen is given. */
  /** Consul KV prefix of revoked token ids (POST /oauth/revoke at any replica). */
  readonly tokenRevocationsPrefix: string;
  readonly token: { readonly listen: { host: string; port: number }; readonly keysDir: string; readonly policy: string; readonly reloadMs: number } | undefined;
}

export const USAGE = `ext-authz: Envoy external authorization (envoy.service.auth.v3.Authorization)

  --listen HOST:PORT         gRPC listen address [$MESHGATE_AUTHZ_ADDR, 127.0.0.1:9191]
  --admin HOST:PORT          admin HTTP (/healthz /metrics /status) [127.0.0.1:9192]
  --policy-file PATH         policy document, or a directory of them (repeatable); polled
  --consul HOST:PORT         Consul HTTP API [$CONSUL_HTTP_ADDR]
  --consul-prefix PREFIX     watch policy documents under this KV prefix (e.g. meshgate/authz/)
  --register                 register in Consul as --service-name (gRPC health check)
  --service-name NAME        [ext-authz]
  --service-id ID            [<service-name>-<port>]
  --advertise ADDR           address to register (else the listen host)
  --identity-headers LIST    field=header,… for subject, tenant, plan, scopes, key_id, credential
                             [${IDENTITY_FIELDS.map((f) => `${f}=${DEFAULT_IDENTITY_HEADERS[f]}`).join(',')}]
  --decision-log MODE        all | deny | off [all]
  --kdf-concurrency N        password hashes (scrypt, Basic) run at once; the rest of libuv's
                             thread pool stays free for JWT signatures [${DEFAULT_KDF_POOL.concurrency}]
  --kdf-queue N              password hashes waiting, in all [${DEFAULT_KDF_POOL.maxQueued}]
  --kdf-queue-per-client N   password hashes waiting per client address; past it, refused at once [${DEFAULT_KDF_POOL.perKey}]
  --token-listen HOST:PORT   serve meshgate's own OAuth token endpoint (POST /oauth/token) and its
                             JWKS (GET /.well-known/jwks.json) here; registered in Consul as
                             meshgate-token, routed by the gateway at those paths [off]
  --token-keys DIR           its signing keys (<kid>.pem, ES256; the newest signs; a first one is
                             made in an empty directory) [needed with --token-listen]
  --token-policy NAME        the policy whose Basic users and API keys may get tokens (its
                             issue_tokens settings) [token-clients]
  --token-keys-reload DUR    how often the key directory is read again [10s]
  --token-revocations-prefix P
                             Consul KV prefix of revoked token ids (POST /oauth/revoke at any
                             replica; every jwt credential refuses them) [meshgate/authz/revoked/]
${H2_LIMITS_USAGE}`;

export function parseIdentityHeaders(text: string | undefined): IdentityHeaderNames {
  const names: Record<IdentityField, string> = { ...DEFAULT_IDENTITY_HEADERS };
  if (!text) return names;
  for (const pair of text.split(',')) {
    const [field, header] = pair.split('=').map((s) => s.trim());
    if (!IDENTITY_FIELDS.includes(field as IdentityField)) throw new Error(`--identity-headers: unknown field ${JSON.stringify(field)}`);
    names[field as IdentityField] = orThrow(checkHeaderName(`--identity-headers ${field}`, header ?? ''));
  }
  return names;
}

export function parseConfig(argv: string[], env: NodeJS.ProcessEnv = process.env): AuthzConfig {
  const { values } = parseArgs({
    args: argv,
    options: {
      ...COMPONENT_OPTIONS,
      'policy-file': { type: 'string', multiple: true },
      'identity-headers': { type: 'string' },
      'decision-log': { type: 'string' },
      'kdf-concurrency': { type: 'string' },
      'kdf-queue': { type: 'string' },
      'kdf-queue-per-client': { type: 'string' },
      'token-listen': { type: 'string' },
      'token-keys': { type: 'string' },
      'token-policy': { type: 'string' },
      'token-keys-reload': { type: 'string' },
      'token-revocations-prefix': { type: 'string' },
    },
    strict: true,
  });
  if (values.help) {
    process.stdout.write(USAGE);
    process.exit(0);
  }
  const component = componentConfig(values, env, { listenEnv: 'MESHGATE_AUTHZ_ADDR', listen: '127.0.0.1:9191', admin: '127.0.0.1:9192', serviceName: 'ext-authz' });
  const policyFiles = values['policy-file'] ?? [];
  if (!policyFiles.length && !values['consul-prefix']) throw new Error('give --policy-file or --consul-prefix: with no policies every request is denied');
  const mode = values['decision-log'] ?? 'all';
  if (!['all', 'deny', 'off'].includes(mode)) throw new Error('--decision-log must be all, deny or off');
  const tokenListen = values['token-listen'];
  if (tokenListen && !values['token-keys']) throw new Error('--token-listen needs --token-keys DIR (its signing keys)');
  const tokenPolicy = values['token-policy'] ?? 'token-clients';
  if (!isPolicyName(tokenPolicy)) throw new Error(`--token-policy: ${JSON.stringify(tokenPolicy)} is not ${POLICY_NAME_HINT}`);
  const token = tokenListen
    ? { listen: hostPort(tokenListen, '--token-listen'), keysDir: values['token-keys']!, policy: tokenPolicy, reloadMs: durationFlag(values['token-keys-reload'] ?? '10s', '--token-keys-reload') }
    : undefined;
  return {
    ...component,
    tokenRevocationsPrefix: values['token-revocations-prefix'] ?? DEFAULT_REVOCATIONS_PREFIX,
    token,
    policyFiles,
    identityHeaders: parseIdentityHeaders(values['identity-headers']),
    decisionLog: mode as DecisionLogMode,
    kdf: {
      concurrency: positiveInteger(values['kdf-concurrency'], '--kdf-concurrency', DEFAULT_KDF_POOL.concurrency),
      maxQueued: positiveInteger(values['kdf-queue'], '--kdf-queue', DEFAULT_KDF_POOL.maxQueued),
      perKey: positiveInteger(values['kdf-queue-per-client'], '--kdf-queue-per-client', DEFAULT_KDF_POOL.perKey),
    },
  };
}
