import { AsyncLocalStorage } from "node:async_hooks";

/** Tenant used when no tenant context is active, so a single-tenant app needs no setup. */
export const DEFAULT_TENANT = "default";

export interface OperationContext {
  tenantId: string;
  correlationId?: string;
  actor?: string;
}

const storage = new AsyncLocalStorage<OperationContext>();

/** Runs `fn` with the tenant (and optional correlation id and actor) visible to every role call inside it. */
export function runWithTenant<T>(context: string | OperationContext, fn: () => T): T {
  const value = typeof context === "string" ? { tenantId: context } : context;
  if (!value.tenantId || typeof value.tenantId !== "string") {
    throw new TypeError(`runWithTenant needs a non-empty tenant id, got ${JSON.stringify(value.tenantId)}`);
  }
  return storage.run(value, fn);
}

export function currentContext(): OperationContext {
  return storage.getStore() ?? { tenantId: DEFAULT_TENANT };
}

export function currentTenantId(): string {
  return currentContext().tenantId;
}
