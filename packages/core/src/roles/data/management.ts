import type { Page, PageRequest } from "./common.js";

export interface Tenant {
  id: string;
  name: string;
  status: "active" | "suspended";
  createdAt: string;
  updatedAt: string;
  version: number;
}

export interface ConfigurationEntry {
  tenantId: string;
  key: string;
  value: unknown;
  version: number;
  updatedAt: string;
}

export interface FeatureFlag {
  key: string;
  /** Value for every tenant without an override. */
  defaultEnabled: boolean;
  overrides: Record<string, boolean>;
  description?: string;
  updatedAt: string;
}

/** Management data is global: tenants themselves are listed here, so these calls ignore the tenant context. */
export interface ManagementModule {
  upsertTenant(input: { id: string; name: string; status?: Tenant["status"] }): Promise<Tenant>;
  getTenant(id: string): Promise<Tenant | null>;
  listTenants(page?: PageRequest): Promise<Page<Tenant>>;
  setConfig(tenantId: string, key: string, value: unknown): Promise<ConfigurationEntry>;
  getConfig<T = unknown>(tenantId: string, key: string): Promise<T | undefined>;
  defineFlag(input: { key: string; defaultEnabled: boolean; description?: string }): Promise<FeatureFlag>;
  setFlagOverride(key: string, tenantId: string, enabled: boolean | null): Promise<FeatureFlag>;
  isEnabled(key: string, tenantId: string): Promise<boolean>;
  listFlags(): Promise<FeatureFlag[]>;
}
