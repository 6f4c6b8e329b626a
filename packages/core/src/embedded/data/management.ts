// Tenants, per-tenant configuration and feature flags. This data is global:
// every call ignores the tenant context and takes the tenant id as an argument.
import { paginate } from "../../data/cursor.js";
import { cloneRecord } from "../../data/json.js";
import { configKeySchema, flagInputSchema, flagKeySchema, idSchema, jsonValueSchema, parseInput, tenantInputSchema } from "../../data/validation.js";
import { NotFoundError, ValidationError } from "../../errors.js";
import type { PageRequest } from "../../roles/data/common.js";
import type { ConfigurationEntry, FeatureFlag, ManagementModule, Tenant } from "../../roles/data/management.js";
import { type Clock, errorContext } from "./store.js";

export function createMemoryManagement(clock: Clock): ManagementModule {
  const tenants = new Map<string, Tenant>();
  const configuration = new Map<string, ConfigurationEntry>();
  const flags = new Map<string, FeatureFlag>();
  const configKey = (tenantId: string, key: string) => JSON.stringify([tenantId, key]);

  function requireTenant(tenantId: unknown): string {
    const id = parseInput(idSchema, tenantId, "tenant id", errorContext());
    if (!tenants.has(id)) {
      throw new NotFoundError(`Tenant "${id}" not found. Create it with upsertTenant first.`, { ...errorContext(), details: { tenantId: id } });
    }
    return id;
  }

  function requireFlag(key: unknown): FeatureFlag {
    const flagKey = parseInput(flagKeySchema, key, "feature flag key", errorContext());
    const flag = flags.get(flagKey);
    if (!flag) {
      throw new NotFoundError(`Feature flag "${flagKey}" not found. Define it with defineFlag first.`, { ...errorContext(), details: { key: flagKey } });
    }
    return flag;
  }

  return {
    async upsertTenant(input) {
      const parsed = parseInput(tenantInputSchema, input, "tenant", errorContext());
      const now = clock.now().toISOString();
      const current = tenants.get(parsed.id);
      const status = parsed.status ?? current?.status ?? "active";

      if (current && current.name === parsed.name && current.status === status) return { ...current };
      const tenant: Tenant = current
        ? { ...current, name: parsed.name, status, version: current.version + 1, updatedAt: now }
        : { id: parsed.id, name: parsed.name, status, createdAt: now, updatedAt: now, version: 1 };
      tenants.set(tenant.id, tenant);
      return { ...tenant };
    },

    async getTenant(id) {
      const tenantId = parseInput(idSchema, id, "tenant id", errorContext());
      const tenant = tenants.get(tenantId);
      return tenant ? { ...tenant } : null;
    },

    async listTenants(page: PageRequest = {}) {
      return paginate([...tenants.values()].map((tenant) => ({ ...tenant })), { scope: "tenants:id", key: () => [], direction: "asc" }, page, errorContext());
    },

    async setConfig(tenantId, key, value) {
      const tenant = requireTenant(tenantId);
      const entryKey = parseInput(configKeySchema, key, "configuration key", errorContext());
      const stored = parseInput(jsonValueSchema, value, "configuration value", errorContext());
      if (stored === undefined) {
        throw new ValidationError(`Invalid configuration value for "${entryKey}": undefined cannot be stored. Pass null to clear it.`, errorContext());
      }

      const current = configuration.get(configKey(tenant, entryKey));
      const entry: ConfigurationEntry = {
        tenantId: tenant,
        key: entryKey,
        value: cloneRecord(stored),
        version: (current?.version ?? 0) + 1,
        updatedAt: clock.now().toISOString(),
      };
      configuration.set(configKey(tenant, entryKey), entry);
      return cloneRecord(entry);
    },

    /** Returns undefined when the key was never set for the tenant. */
    async getConfig<T>(tenantId: string, key: string) {
      const tenant = parseInput(idSchema, tenantId, "tenant id", errorContext());
      const entryKey = parseInput(configKeySchema, key, "configuration key", errorContext());
      const entry = configuration.get(configKey(tenant, entryKey));
      return entry === undefined ? undefined : (cloneRecord(entry.value) as T);
    },

    /** Defining an existing flag updates its default and description and keeps its overrides. */
    async defineFlag(input) {
      const parsed = parseInput(flagInputSchema, input, "feature flag", errorContext());
      const current = flags.get(parsed.key);
      const flag: FeatureFlag = {
        key: parsed.key,
        defaultEnabled: parsed.defaultEnabled,
        overrides: current?.overrides ?? {},
        ...(parsed.description === undefined ? {} : { description: parsed.description }),
        updatedAt: clock.now().toISOString(),
      };
      flags.set(flag.key, flag);
      return cloneRecord(flag);
    },

    /** `enabled: null` removes the tenant's override, so the flag's default applies again. */
    async setFlagOverride(key, tenantId, enabled) {
      const flag = requireFlag(key);
      const tenant = requireTenant(tenantId);
      if (enabled !== null && typeof enabled !== "boolean") {
        throw new ValidationError(`Invalid override for flag "${flag.key}": expected true, false or null, got ${JSON.stringify(enabled)}.`, errorContext());
      }

      const overrides = { ...flag.overrides };
      if (enabled === null) delete overrides[tenant];
      else overrides[tenant] = enabled;
      const next: FeatureFlag = { ...flag, overrides, updatedAt: clock.now().toISOString() };
      flags.set(next.key, next);
      return cloneRecord(next);
    },

    /** Throws NotFoundError for an undefined flag, so a mistyped key fails loudly instead of reading as off. */
    async isEnabled(key, tenantId) {
      const flag = requireFlag(key);
      const tenant = parseInput(idSchema, tenantId, "tenant id", errorContext());
      return Object.prototype.hasOwnProperty.call(flag.overrides, tenant) ? (flag.overrides[tenant] as boolean) : flag.defaultEnabled;
    },

    /** Ordered by key. */
    async listFlags() {
      return [...flags.values()].sort((a, b) => (a.key < b.key ? -1 : 1)).map((flag) => cloneRecord(flag));
    },
  };
}
