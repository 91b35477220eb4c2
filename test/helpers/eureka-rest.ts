// The tests' own use of Eureka's REST API (not meshgate's source): instances registered and
// changed as an operator or a client would, and the registry read back to say what Envoy should
// hold — the held-out side of every comparison.
export interface RestInstance {
  readonly app: string;
  readonly id: string;
  readonly address: string;
  readonly port: number;
  readonly status: 'UP' | 'DOWN' | 'STARTING' | 'OUT_OF_SERVICE';
  readonly meta?: Record<string, string>;
}

export class EurekaRest {
  constructor(private readonly base: string) {}

  async register(i: RestInstance): Promise<void> {
    const res = await fetch(`${this.base}/apps/${i.app.toUpperCase()}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        instance: {
          instanceId: i.id,
          hostName: i.address,
          app: i.app.toUpperCase(),
          ipAddr: i.address,
          status: i.status,
          port: { $: i.port, '@enabled': 'true' },
          securePort: { $: 443, '@enabled': 'false' },
          vipAddress: i.app,
          dataCenterInfo: { '@class': 'com.netflix.appinfo.InstanceInfo$DefaultDataCenterInfo', name: 'MyOwn' },
          metadata: i.meta ?? {},
        },
      }),
    });
    if (res.status !== 204) throw new Error(`eureka register ${i.id}: HTTP ${res.status}`);
  }

  async cancel(app: string, id: string): Promise<void> {
    const res = await fetch(`${this.base}/apps/${app.toUpperCase()}/${id}`, { method: 'DELETE' });
    if (!res.ok) throw new Error(`eureka cancel ${id}: HTTP ${res.status}`);
  }

  /** address:port of every instance of `app` whose status is UP, as GET /apps answers. */
  async upInstances(app: string): Promise<string[]> {
    const res = await fetch(`${this.base}/apps`, { headers: { accept: 'application/json' } });
    const body = (await res.json()) as { applications: { application: Array<{ name: string; instance: Array<{ ipAddr: string; status: string; port: { $: number } }> }> } };
    const a = body.applications.application.find((x) => x.name === app.toUpperCase());
    return (a?.instance ?? [])
      .filter((i) => i.status === 'UP')
      .map((i) => `${i.ipAddr}:${i.port.$}`)
      .sort();
  }
}
