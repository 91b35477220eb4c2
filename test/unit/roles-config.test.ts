import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import YAML from 'yaml';
import { renderTemplate } from '../../launcher/bootstrap.js';
import { gatewayVars, sidecarVars } from '../../launcher/envoy-roles.js';
import { repoRoot } from '../../launcher/repo.js';
import { parseConfig } from '../../xds-server/config.js';
import { roleKey, roleOf } from '../../xds-server/roles.js';

const node = (metadata: Record<string, unknown>) => ({ id: 'n', cluster: 'c', metadata, userAgent: 'envoy' });
const defaults = { gatewayAddress: '0.0.0.0', gatewayPort: 8080 };

describe('roles from node metadata', () => {
  it('makes a node without metadata a gateway on the default listener', () => {
    assert.deepEqual(roleOf(node({}), defaults), { kind: 'gateway', address: '0.0.0.0', port: 8080 });
  });

  it('takes the listener from the metadata, and keys roles by it', () => {
    const r = roleOf(node({ role: 'gateway', gateway_port: '9090', gateway_address: '127.0.0.1' }), defaults);
    assert.equal(roleKey(r), 'gateway:127.0.0.1:9090');
  });

  it('refuses an unknown role or a bad port with a reason', () => {
    assert.throws(() => roleOf(node({ role: 'toaster' }), defaults), /unknown role "toaster"/);
    assert.throws(() => roleOf(node({ gateway_port: 70000 }), defaults), /gateway_port: 70000 is not a port/);
    assert.throws(() => roleOf(node({ stats_port: 15090 }), defaults), /stats_port needs node metadata "admin_port"/);
  });

  it('gives a proxy with stats_port its stats endpoint, and keys its role by it (an empty stats_port: none)', () => {
    const r = roleOf(node({ stats_port: '15090', admin_port: '9901' }), defaults);
    assert.deepEqual(r, { kind: 'gateway', address: '0.0.0.0', port: 8080, stats: { address: '127.0.0.1', port: 15090, adminAddress: '127.0.0.1', adminPort: 9901 } });
    assert.equal(roleKey(r), 'gateway:0.0.0.0:8080:stats=127.0.0.1:15090>127.0.0.1:9901');
    assert.deepEqual(roleOf(node({ stats_port: null, admin_port: 9901 }), defaults), { kind: 'gateway', address: '0.0.0.0', port: 8080 });
  });
});

describe('xds-server configuration', () => {
  it('has defaults, and takes flags and environment', () => {
    const c = parseConfig([], {});
    assert.equal(c.xdsPort, 18000);
    assert.equal(c.debounceMaxMs, 50);
    const d = parseConfig(['--xds=0.0.0.0:19000', '--debounce=5ms'], { CONSUL_HTTP_ADDR: 'http://consul:8500' });
    assert.deepEqual([d.xdsHost, d.xdsPort, d.debounceQuietMs, d.consul.host, d.consul.port], ['0.0.0.0', 19000, 5, 'consul', 8500]);
  });

  it('refuses nonsense', () => {
    assert.throws(() => parseConfig(['--consul=nohost'], {}), /not HOST:PORT/);
    assert.throws(() => parseConfig(['--debounce=100ms', '--debounce-max=50ms'], {}), /must not exceed/);
  });
});

describe('envoy/gateway.yaml', () => {
  const template = fs.readFileSync(path.join(repoRoot(), 'envoy', 'gateway.yaml'), 'utf8');
  const vars = gatewayVars({ nodeId: 'gw', address: '0.0.0.0', port: 8080, adminPort: 9901, statsPort: 15090, xds: { host: 'xds-server', port: 18000 } });

  it('renders to a bootstrap that names only the xds-server and gets everything else over ADS', () => {
    const b = YAML.parse(renderTemplate(template, vars));
    assert.equal(b.node.metadata.role, 'gateway');
    assert.equal(b.node.metadata.gateway_port, 8080);
    assert.deepEqual(b.static_resources.clusters.map((c: { name: string }) => c.name), ['xds_server']);
    assert.equal(b.static_resources.listeners, undefined);
    assert.equal(b.dynamic_resources.ads_config.api_type, 'GRPC');
    assert.deepEqual(b.dynamic_resources.cds_config, { ads: {}, resource_api_version: 'V3' });
    assert.deepEqual(b.dynamic_resources.lds_config, { ads: {}, resource_api_version: 'V3' });
    assert.equal(b.admin.address.socket_address.address, '127.0.0.1');
    const role = roleOf({ id: 'gw', cluster: 'gateway', userAgent: 'envoy', metadata: b.node.metadata }, defaults);
    assert.deepEqual(role.kind === 'gateway' && role.stats, { address: '127.0.0.1', port: 15090, adminAddress: '127.0.0.1', adminPort: 9901 });
  });

  it('refuses to render with a value missing', () => {
    assert.throws(() => renderTemplate(template, { ...vars, XDS_PORT: undefined as never }), /needs values for: XDS_PORT/);
    // A setting with a documented default: the default, unless given (the overload manager's heap bound).
    assert.equal(renderTemplate('max: ${MAX_HEAP_BYTES:-1073741824}', {}), 'max: 1073741824');
    assert.equal(renderTemplate('max: ${MAX_HEAP_BYTES:-1073741824}', { MAX_HEAP_BYTES: 5 }), 'max: 5');
  });
});

describe('envoy/sidecar.yaml', () => {
  const template = fs.readFileSync(path.join(repoRoot(), 'envoy', 'sidecar.yaml'), 'utf8');

  it('renders the node metadata the xds-server reads a sidecar role from, on delta xDS when asked', () => {
    const vars = sidecarVars({ nodeId: 'llm-b-1', service: 'llm-b', appPort: 8081, inboundPort: 21000, outboundPort: 21001, adminPort: 19001, xds: { host: '127.0.0.1', port: 18000, api: 'delta' } });
    const b = YAML.parse(renderTemplate(template, vars));
    assert.deepEqual(b.node.metadata, {
      role: 'sidecar',
      service: 'llm-b',
      app_port: 8081,
      inbound_address: '127.0.0.1',
      inbound_port: 21000,
      outbound_port: 21001,
      stats_address: '127.0.0.1',
      stats_port: null, // none asked for
      admin_address: '127.0.0.1',
      admin_port: 19001,
    });
    assert.equal(b.node.cluster, 'llm-b');
    assert.equal(b.dynamic_resources.ads_config.api_type, 'DELTA_GRPC');
    const role = roleOf({ id: 'llm-b-1', cluster: 'llm-b', userAgent: 'envoy', metadata: b.node.metadata }, { gatewayAddress: '0.0.0.0', gatewayPort: 8080 });
    assert.deepEqual(role, { kind: 'sidecar', service: 'llm-b', appPort: 8081, inboundAddress: '127.0.0.1', inboundPort: 21000, outboundPort: 21001 });
  });
});

describe('docker-compose.yml', () => {
  const compose = YAML.parse(fs.readFileSync(path.join(repoRoot(), 'docker-compose.yml'), 'utf8')) as {
    services: Record<string, { command?: string[] | string; environment?: Record<string, string> }>;
  };

  it('gives every bootstrap it renders a value for each placeholder', () => {
    const rendered: string[] = [];
    for (const [name, svc] of Object.entries(compose.services)) {
      const command = Array.isArray(svc.command) ? svc.command.join(' ') : (svc.command ?? '');
      const m = /render-bootstrap\.js (envoy\/[a-z-]+\.yaml)/.exec(command);
      if (!m) continue;
      const template = fs.readFileSync(path.join(repoRoot(), m[1]!), 'utf8');
      const b = YAML.parse(renderTemplate(template, svc.environment ?? {}));
      assert.ok(['gateway', 'sidecar'].includes(b.node.metadata.role), name);
      rendered.push(m[1]!);
    }
    assert.deepEqual(rendered.sort(), ['envoy/gateway.yaml', 'envoy/sidecar.yaml']);
  });
});
