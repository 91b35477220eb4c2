import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { messageType } from '../../shared/proto/root.js';
import { toJson } from '../../shared/proto/json.js';
import { buildSnapshot } from '../../xds-server/cache/snapshot.js';
import { CONTROL_PLANE_ID, decodeDiscoveryRequest, encodeDiscoveryRequest, sotwResponseBytes } from '../../xds-server/server/discovery-codec.js';
import { TYPE_URLS } from '../../xds-server/xds-types.js';
import { loadCase } from '../helpers/golden-cases.js';

describe('discovery wire codec', () => {
  it('assembles a DiscoveryResponse from pre-encoded resources that any protobuf decoder reads', () => {
    const snap = buildSnapshot('k', loadCase('gateway-two-services').translate());
    const clusters = [...snap.types.cluster.resources.values()];
    const bytes = sotwResponseBytes('v1', TYPE_URLS.cluster, '7', clusters);
    const type = messageType('envoy.service.discovery.v3.DiscoveryResponse');
    const decoded = toJson(type, type.decode(bytes)) as {
      version_info: string;
      type_url: string;
      nonce: string;
      control_plane: { identifier: string };
      resources: Array<{ '@type': string; name: string }>;
    };
    assert.equal(decoded.version_info, 'v1');
    assert.equal(decoded.type_url, TYPE_URLS.cluster);
    assert.equal(decoded.nonce, '7');
    assert.equal(decoded.control_plane.identifier, CONTROL_PLANE_ID);
    assert.deepEqual(decoded.resources.map((r) => r.name), ['embed', 'llm-chat']);
    assert.deepEqual(decoded.resources[1], { '@type': TYPE_URLS.cluster, ...clusters[1]!.json });
  });

  it('decodes a DiscoveryRequest with its node metadata and NACK detail', () => {
    const bytes = encodeDiscoveryRequest({
      version_info: 'v0',
      node: { id: 'gw-1', cluster: 'gateway' } as never,
      resource_names: ['a'],
      type_url: TYPE_URLS.endpoint,
      response_nonce: '3',
      error_detail: { code: 3, message: 'rejected' } as never,
    });
    const r = decodeDiscoveryRequest(bytes);
    assert.equal(r.version_info, 'v0');
    assert.deepEqual(r.resource_names, ['a']);
    assert.equal(r.response_nonce, '3');
    assert.equal(r.error_detail?.message, 'rejected');
    assert.equal((r.node as { id: string }).id, 'gw-1');
  });
});
