// Browser login at the gateway, spelled for Envoy's oauth2 filter: in the chain with no config of
// its own (so it does nothing on any route but a login's), and on each path of a service that
// logs in, the whole flow in the route's OAuth2PerRoute — authorization code with PKCE (Envoy
// always sends an S256 challenge), the callback and sign-out under the path, the ID token handed
// on as `Authorization: Bearer` for ext-authz to verify and to read the roles from, the client and
// HMAC secrets by SDS name (their values only in the gateway's secret resources), cookies
// Secure and HttpOnly (Envoy's own) with the entry's SameSite.
import type { JsonObject } from '../../shared/proto/codec.js';
import { secretResourceName } from '../resolve/login.js';
import type { LoginCluster, PathLogin, ResolvedLogin, SecretValue } from '../resolve/resolved-mesh.js';
import { TranslationCache } from './cache.js';
import { ADS_SOURCE, type NamedResource } from './resource-set.js';

export const LOGIN_FILTER_NAME = 'envoy.filters.http.oauth2';
const OAUTH2 = 'type.googleapis.com/envoy.extensions.filters.http.oauth2.v3.OAuth2';
const OAUTH2_PER_ROUTE = 'type.googleapis.com/envoy.extensions.filters.http.oauth2.v3.OAuth2PerRoute';
/** The page's own requests (fetch with this header) get 401 when the session is over, not a redirect they cannot follow. */
export const NO_REDIRECT_HEADER = { name: 'x-requested-with', value: 'XMLHttpRequest' } as const;
/** How long Envoy waits for the provider's token endpoint. */
const TOKEN_ENDPOINT_TIMEOUT = '5s';

/** In the chain always: with no config it acts only where a route gives it one. */
export const LOGIN_CHAIN_FILTER: JsonObject = { name: LOGIN_FILTER_NAME, typed_config: { '@type': OAUTH2 } };

/** The callback and sign-out paths of a gateway path ("/console/" → "/console/oauth2/callback"). */
export function loginPaths(prefix: string): { callback: string; signout: string } {
  const base = prefix.endsWith('/') ? prefix : `${prefix}/`;
  return { callback: `${base}oauth2/callback`, signout: `${base}oauth2/signout` };
}

const sds = (name: string): JsonObject => ({ name, sds_config: ADS_SOURCE });

function oauth2Config(login: ResolvedLogin, prefix: string): JsonObject {
  const { callback, signout } = loginPaths(prefix);
  const cookie: JsonObject = { same_site: login.sameSite };
  // One session per login: two logins on one gateway keep apart cookies.
  const named = (what: string): string => `mg-${login.name}-${what}`;
  return {
    token_endpoint: { cluster: login.tokenEndpoint.cluster.name, uri: login.tokenEndpoint.url, timeout: TOKEN_ENDPOINT_TIMEOUT },
    authorization_endpoint: login.authorizationEndpoint,
    ...(login.endSessionEndpoint ? { end_session_endpoint: login.endSessionEndpoint } : {}),
    redirect_uri: `%REQ(x-forwarded-proto)%://%REQ(:authority)%${callback}`,
    redirect_path_matcher: { path: { exact: callback } },
    signout_path: { path: { exact: signout } },
    credentials: {
      client_id: login.clientId,
      token_secret: sds(login.clientSecret),
      hmac_secret: sds(login.hmacSecret),
      cookie_names: {
        bearer_token: named('access'),
        oauth_hmac: named('hmac'),
        oauth_expires: named('expires'),
        id_token: named('id'),
        refresh_token: named('refresh'),
        oauth_nonce: named('nonce'),
        code_verifier: named('verifier'),
      },
    },
    auth_scopes: [...login.scopes],
    // client_secret_basic: OpenID Connect's default client authentication.
    auth_type: 'BASIC_AUTH',
    forward_id_token: { header: 'authorization' },
    ...(login.passThroughHeaders.length ? { pass_through_matcher: login.passThroughHeaders.map((name) => ({ name, present_match: true })) } : {}),
    deny_redirect_matcher: [{ name: NO_REDIRECT_HEADER.name, string_match: { exact: NO_REDIRECT_HEADER.value } }],
    cookie_configs: {
      bearer_token_cookie_config: cookie,
      oauth_hmac_cookie_config: cookie,
      oauth_expires_cookie_config: cookie,
      id_token_cookie_config: cookie,
      refresh_token_cookie_config: cookie,
      oauth_nonce_cookie_config: cookie,
      code_verifier_cookie_config: cookie,
    },
    stat_prefix: `login_${login.name.replace(/-/g, '_')}`,
  };
}

/** What a login path's routes add: the flow, in the oauth2 filter's per-route config. */
export function routeLogin(login: ResolvedLogin, prefix: string): JsonObject {
  return { [LOGIN_FILTER_NAME]: { '@type': OAUTH2_PER_ROUTE, config: oauth2Config(login, prefix) } };
}

/**
 * A path whose login cannot be had is closed: 503, with the reason, to every caller. Envoy
 * answers it itself (no upstream is reached), so ext_authz need not be asked (`perFilter` turns
 * it off): the reason is the answer.
 */
export function loginUnavailableRoute(name: string, login: Extract<PathLogin, { kind: 'unavailable' }>, match: JsonObject, perFilter: JsonObject): JsonObject {
  return {
    name,
    match,
    direct_response: { status: 503, body: { inline_string: `login "${login.name}" is unavailable: ${login.reason}` } },
    ...(Object.keys(perFilter).length ? { typed_per_filter_config: perFilter } : {}),
  };
}

/** The system's trusted roots, where Debian and Ubuntu (Envoy's own images) keep them. */
export const SYSTEM_CA_FILE = '/etc/ssl/certs/ca-certificates.crt';

/**
 * The provider's token endpoint: DNS-resolved (or a literal address), TLS verified against the
 * system's roots for https. The same JSON while the resolved cluster is the same object, so a
 * rebuild does not encode it again.
 */
export function loginClusterResource(c: LoginCluster, cache: TranslationCache = new TranslationCache()): NamedResource {
  return { name: c.name, resource: cache.of(c, 'login-cluster', () => loginCluster(c)) };
}

function loginCluster(c: LoginCluster): JsonObject {
  const literal = /^[0-9.]+$|:/.test(c.host);
  const resource: JsonObject = {
    name: c.name,
    type: literal ? 'STATIC' : 'STRICT_DNS',
    connect_timeout: '5s',
    dns_lookup_family: 'V4_PREFERRED',
    load_assignment: { cluster_name: c.name, endpoints: [{ lb_endpoints: [{ endpoint: { address: { socket_address: { address: c.host, port_value: c.port } } } }] }] },
  };
  if (c.tls) {
    resource['transport_socket'] = {
      name: 'envoy.transport_sockets.tls',
      typed_config: {
        '@type': 'type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext',
        sni: c.host,
        common_tls_context: {
          validation_context: {
            trusted_ca: { filename: SYSTEM_CA_FILE },
            match_typed_subject_alt_names: [{ san_type: 'DNS', matcher: { exact: c.host } }],
          },
        },
      },
    };
  }
  return resource;
}

/**
 * A secret as SDS serves it (encoded-resource.ts keeps the value out of every debug view). The
 * same JSON while the secret is the same object: the snapshot layer finds its encoding by the
 * JSON's identity, since the redacted view kept beside it can never equal the JSON again.
 */
export function secretResource(secret: SecretValue, cache: TranslationCache = new TranslationCache()): NamedResource {
  const name = secretResourceName(secret.name);
  return { name, resource: cache.of(secret, 'sds', () => ({ name, generic_secret: { secret: { inline_string: secret.reveal() } } })) };
}
