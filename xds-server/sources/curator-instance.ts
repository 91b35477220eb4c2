// One ZooKeeper node in the service-discovery layout of Apache Curator (curator-x-discovery) and
// Spring Cloud Zookeeper, which uses it: `<base>/<service>/<instance id>` holding a JSON
// ServiceInstance. Its payload is the registrant's own class; Spring Cloud Zookeeper's (and
// Dubbo's) carry a `metadata` map, where meshgate's meta keys go.
//
//   {"name":"orders","id":"6f1c…","address":"10.0.0.7","port":8080,"sslPort":null,
//    "payload":{"@class":"org.springframework.cloud.zookeeper.discovery.ZookeeperInstance",
//               "id":"orders-1","name":"orders","metadata":{"instance_status":"UP","zone":"a"}},
//    "registrationTimeUTC":1733500000000,"serviceType":"DYNAMIC","uriSpec":{…},"enabled":true}
//
// Health: a node exists only while its registrant's session lives (DYNAMIC instances are
// ephemeral), so existing is alive; Curator's `enabled: false` and Spring Cloud Zookeeper's
// `instance_status` other than UP (its OUT_OF_SERVICE) take it out of rotation.
import { z } from 'zod';
import { describeIssues } from '../../shared/validate/zod.js';
import { refused, within, type Checked } from '../../shared/validate/result.js';
import type { Instance } from '../model/mesh.js';
import { registryInstance } from './registry-instance.js';

/** Spring Cloud Zookeeper's status key in the metadata (ZookeeperServiceRegistry.setStatus). */
export const INSTANCE_STATUS_META = 'instance_status';

const port = z.number().int().min(1).max(65535);
const curatorSchema = z.object({
  name: z.string().optional(),
  id: z.string().min(1).max(256),
  address: z.string().min(1).max(256),
  port: port.nullable().optional(),
  sslPort: port.nullable().optional(),
  enabled: z.boolean().optional(),
  serviceType: z.string().optional(),
  payload: z
    .object({ metadata: z.record(z.string(), z.string()).nullable().optional() })
    .passthrough()
    .nullable()
    .optional(),
});

/** The bytes of the node `nodeName` as an instance, or why not. */
export function curatorInstance(bytes: Buffer | undefined, nodeName: string): Checked<Instance> {
  if (!bytes || bytes.length === 0) return refused(nodeName, 'the node holds no data');
  let json: unknown;
  try {
    json = JSON.parse(bytes.toString('utf8'));
  } catch (err) {
    return refused(nodeName, `not JSON: ${(err as Error).message}`);
  }
  const parsed = curatorSchema.safeParse(json);
  if (!parsed.success) return refused(nodeName, describeIssues(parsed.error));
  const i = parsed.data;
  if (i.port == null) {
    return refused(nodeName, i.sslPort != null ? 'only an sslPort is registered: TLS to instances is not configured from ZooKeeper' : 'no port registered');
  }
  const meta = i.payload?.metadata ?? {};
  const status = meta[INSTANCE_STATUS_META];
  return within(
    nodeName,
    registryInstance({
      registry: 'zookeeper',
      id: i.id,
      node: i.address,
      address: i.address,
      port: i.port,
      healthy: i.enabled !== false && (status === undefined || status.toUpperCase() === 'UP'),
      meta,
    }),
  );
}
