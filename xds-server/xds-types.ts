// The xDS resource types meshgate serves, and the order in which a change is pushed:
// clusters before their endpoints, both (and the secrets filters name) before the listeners
// and routes that use them (make before break).
export const TYPE_URLS = {
  cluster: 'type.googleapis.com/envoy.config.cluster.v3.Cluster',
  endpoint: 'type.googleapis.com/envoy.config.endpoint.v3.ClusterLoadAssignment',
  listener: 'type.googleapis.com/envoy.config.listener.v3.Listener',
  route: 'type.googleapis.com/envoy.config.route.v3.RouteConfiguration',
  /** SDS: the browser login's client and HMAC secrets, never inside a listener or route. */
  secret: 'type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.Secret',
} as const;

export type XdsType = keyof typeof TYPE_URLS;

export const PUSH_ORDER: readonly XdsType[] = ['cluster', 'endpoint', 'secret', 'listener', 'route'];

const BY_URL = new Map<string, XdsType>(Object.entries(TYPE_URLS).map(([k, v]) => [v, k as XdsType]));

export function xdsTypeOf(typeUrl: string): XdsType | undefined {
  return BY_URL.get(typeUrl);
}

export function messageNameOf(type: XdsType): string {
  return TYPE_URLS[type].substring(TYPE_URLS[type].lastIndexOf('/') + 1);
}

/** For LDS and CDS a state-of-the-world response is the full set; for EDS, RDS and SDS only the named ones. */
export function isFullStateType(type: XdsType): boolean {
  return type === 'cluster' || type === 'listener';
}
