// What the xds-server registers in Consul for a proxy with a stats endpoint: where Prometheus
// scrapes it, in the metrics meta every component uses.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { peerAddress, proxyRegistration } from '../../xds-server/server/proxy-metrics-registrar.js';
import type { ProxyStream } from '../../xds-server/server/proxy-registry.js';

const stream = (peer: string) => ({ streamId: 1, node: { id: 'gw-1', cluster: 'gateway', metadata: {}, userAgent: 'envoy' }, roleKey: 'k', api: 'sotw', peer, openedAt: new Date(), state: {} }) as unknown as ProxyStream;
const o = { serviceName: 'meshgate-envoy', intervalMs: 10_000 };

describe('proxy metrics registration', () => {
  it('reads the address of a gRPC peer', () => {
    assert.equal(peerAddress('ipv4:10.0.0.7:51234'), '10.0.0.7');
    assert.equal(peerAddress('10.0.0.7:51234'), '10.0.0.7');
    assert.equal(peerAddress('ipv6:[::1]:51234'), '::1');
  });

  it('registers a gateway’s stats listener, at the address it connected from when it listens on every interface', () => {
    const r = proxyRegistration(stream('ipv4:10.0.0.7:51234'), { kind: 'gateway', address: '0.0.0.0', port: 8080, stats: { address: '0.0.0.0', port: 15090, adminAddress: '127.0.0.1', adminPort: 9901 } }, o)!;
    assert.equal(r.id, 'meshgate-envoy-gw-1');
    assert.deepEqual(r.body['meta'], { 'metrics-address': '10.0.0.7', 'metrics-port': '15090', 'metrics-path': '/stats/prometheus', role: 'gateway', node: 'gw-1', 'gateway-path': 'none' });
    assert.deepEqual(r.body['check'], { name: 'gw-1 xDS stream', ttl: '30s', deregistercriticalserviceafter: '1m' });
  });

  it('names a sidecar’s service, and registers nothing for a proxy without a stats endpoint', () => {
    const sidecar = { kind: 'sidecar', service: 'llm-b', inboundAddress: '127.0.0.1', inboundPort: 1, appPort: 2, outboundPort: 3, stats: { address: '127.0.0.1', port: 15091, adminAddress: '127.0.0.1', adminPort: 9902 } } as const;
    const r = proxyRegistration(stream('ipv4:10.0.0.8:1'), sidecar, o)!;
    assert.equal((r.body['meta'] as Record<string, string>)['service'], 'llm-b');
    assert.equal(r.body['address'], '127.0.0.1');
    assert.equal(proxyRegistration(stream('x:1'), { kind: 'gateway', address: '0.0.0.0', port: 8080 }, o), undefined);
    assert.equal(proxyRegistration(stream('x:1'), { kind: 'proxyless' }, o), undefined);
  });
});
