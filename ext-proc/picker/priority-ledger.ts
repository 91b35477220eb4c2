// The server priorities of the calls the picker placed on a pool whose servers schedule by
// priority, until each ends: per endpoint (the worst one there is what a better call can take
// the slot of) and per model and tenant (how many calls a tenant holds, which its next call's
// priority counts). One record per placed call, so both views always agree.
export class PriorityLedger {
  private readonly byEndpoint = new Map<string, number[]>();
  private readonly byTenant = new Map<string, Map<string, number>>();

  get empty(): boolean {
    return this.byEndpoint.size === 0;
  }

  /** The calls `tenant` has in flight on `model`'s pool. */
  tenantCalls(model: string, tenant: string): number {
    return this.byTenant.get(model)?.get(tenant) ?? 0;
  }

  /** The highest (worst) priority of the calls in flight at `address`, if any. */
  worstAt(address: string): number | undefined {
    const list = this.byEndpoint.get(address);
    return list?.length ? Math.max(...list) : undefined;
  }

  add(model: string, tenant: string, address: string, priority: number): void {
    const list = this.byEndpoint.get(address);
    if (list) list.push(priority);
    else this.byEndpoint.set(address, [priority]);
    let tenants = this.byTenant.get(model);
    if (!tenants) this.byTenant.set(model, (tenants = new Map()));
    tenants.set(tenant, (tenants.get(tenant) ?? 0) + 1);
  }

  remove(model: string, tenant: string, address: string, priority: number): void {
    const list = this.byEndpoint.get(address);
    const at = list?.indexOf(priority) ?? -1;
    if (at >= 0) list!.splice(at, 1);
    if (list && !list.length) this.byEndpoint.delete(address);
    const tenants = this.byTenant.get(model);
    const left = (tenants?.get(tenant) ?? 1) - 1;
    if (left > 0) tenants!.set(tenant, left);
    else tenants?.delete(tenant);
    if (tenants && !tenants.size) this.byTenant.delete(model);
  }
}
