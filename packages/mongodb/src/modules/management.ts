// Tenants, per-tenant configuration and feature flags in `tenants`,
// `configurations` and `feature_flags`. This data is global: these are the
// only collections read without the tenant wrapper, and every call takes the
// tenant id as an argument instead of from the context.
import {
  NotFoundError,
  ValidationError,
  cloneRecord,
  configKeySchema,
  flagInputSchema,
  flagKeySchema,
  idSchema,
  jsonValueSchema,
  parseInput,
  tenantInputSchema,
  type ConfigurationEntry,
  type FeatureFlag,
  type ManagementModule,
  type PageRequest,
  type Tenant,
} from "@bridge/core";
import { decodeCursor, encodeCursor, resolvePageLimit } from "@bridge/core";
import type { Collection, Document } from "mongodb";
import { docKey } from "../store.js";
import { errorContext, type ModuleContext } from "./shared.js";

type TenantDocument = Tenant & { _id: string };
type ConfigurationDocument = ConfigurationEntry & { _id: string };
/** Overrides are stored as a list, because tenant ids may contain "." and MongoDB reads a dot in a key as a path. */
type FlagDocument = Omit<FeatureFlag, "overrides"> & {
  _id: string;
  overrides: Array<{ tenantId: string; enabled: boolean }>;
  /** Raised on every override change, for the conditional write. */
  revision?: number;
};

function toFlag(document: FlagDocument): FeatureFlag {
  const { _id: _ignored, overrides, revision: _revision, ...flag } = document;
  return { ...flag, overrides: Object.fromEntries((overrides ?? []).map((entry) => [entry.tenantId, entry.enabled])) };
}

function withoutId<T extends { _id: unknown }>(document: T): Omit<T, "_id"> {
  const { _id: _ignored, ...rest } = document;
  return rest;
}

export function createManagement(context: ModuleContext): ManagementModule {
  const { store, now } = context;
  const tenants = () => store.collection<TenantDocument>("tenants");
  const configurations = () => store.collection<ConfigurationDocument>("configurations");
  const flags = () => store.collection<FlagDocument>("feature_flags");

  function run<T>(operation: string, fn: () => Promise<T>, idempotent = false): Promise<T> {
    return store.run(operation, fn, { idempotent });
  }

  async function requireTenant(tenantId: unknown): Promise<string> {
    const id = parseInput(idSchema, tenantId, "tenant id", errorContext(store));
    const collection = await tenants();
    if (!(await run("Reading tenant", () => collection.findOne({ _id: id }), true))) {
      throw new NotFoundError(`Tenant "${id}" not found. Create it with upsertTenant first.`, { ...errorContext(store), details: { tenantId: id } });
    }
    return id;
  }

  async function readFlag(collection: Collection<FlagDocument>, key: unknown): Promise<FlagDocument> {
    const flagKey = parseInput(flagKeySchema, key, "feature flag key", errorContext(store));
    const flag = await run("Reading feature flag", () => collection.findOne({ _id: flagKey }), true);
    if (!flag) {
      throw new NotFoundError(`Feature flag "${flagKey}" not found. Define it with defineFlag first.`, { ...errorContext(store), details: { key: flagKey } });
    }
    return flag;
  }

  return {
    async upsertTenant(input) {
      const parsed = parseInput(tenantInputSchema, input, "tenant", errorContext(store));
      const collection = await tenants();
      return store.exclusive(`tenants/${parsed.id}`, async () => {
        for (;;) {
          const current = await run("Reading tenant", () => collection.findOne({ _id: parsed.id }), true);
          const at = now().toISOString();
          const status = parsed.status ?? current?.status ?? "active";
          if (current && current.name === parsed.name && current.status === status) return withoutId(current);

          if (!current) {
            const tenant: Tenant = { id: parsed.id, name: parsed.name, status, createdAt: at, updatedAt: at, version: 1 };
            const inserted = await run(`Creating tenant "${parsed.id}"`, () => collection.insertOne({ _id: parsed.id, ...tenant }).then(() => true)).catch(
              (error: unknown) => {
                if ((error as { code?: string }).code === "DUPLICATE_KEY") return false;
                throw error;
              },
            );
            if (inserted) return tenant;
            continue;
          }
          const next: Tenant = { ...withoutId(current), name: parsed.name, status, version: current.version + 1, updatedAt: at };
          const replaced = await run(`Updating tenant "${parsed.id}"`, () => collection.replaceOne({ _id: parsed.id, version: current.version }, next));
          if (replaced.matchedCount === 1) return next;
        }
      });
    },

    async getTenant(id) {
      const tenantId = parseInput(idSchema, id, "tenant id", errorContext(store));
      const collection = await tenants();
      const tenant = await run("Reading tenant", () => collection.findOne({ _id: tenantId }), true);
      return tenant ? withoutId(tenant) : null;
    },

    async listTenants(page: PageRequest = {}) {
      const errorFields = errorContext(store);
      const limit = resolvePageLimit(page.limit, errorFields);
      const after = page.cursor === undefined || page.cursor === null ? null : decodeCursor("tenants:id", page.cursor, errorFields).id;
      const collection = await tenants();
      const rows = await run(
        "Listing tenants",
        () => collection.find(after === null ? {} : { _id: { $gt: after } }).sort({ _id: 1 }).limit(limit + 1).toArray(),
        true,
      );
      const items = rows.slice(0, limit).map(withoutId);
      const last = items[items.length - 1];
      return { items, nextCursor: rows.length > limit && last ? encodeCursor("tenants:id", { key: [], id: last.id }) : null };
    },

    async setConfig(tenantId, key, value) {
      const tenant = await requireTenant(tenantId);
      const entryKey = parseInput(configKeySchema, key, "configuration key", errorContext(store));
      const stored = parseInput(jsonValueSchema, value, "configuration value", errorContext(store));
      if (stored === undefined) {
        throw new ValidationError(`Invalid configuration value for "${entryKey}": undefined cannot be stored. Pass null to clear it.`, errorContext(store));
      }

      const collection = await configurations();
      const id = docKey(tenant, entryKey);
      return store.exclusive(`configurations/${id}`, async () => {
        const entry = await run(`Setting configuration "${entryKey}"`, () =>
          collection.findOneAndUpdate(
            { _id: id },
            { $set: { tenantId: tenant, key: entryKey, value: cloneRecord(stored), updatedAt: now().toISOString() }, $inc: { version: 1 } },
            { upsert: true, returnDocument: "after", includeResultMetadata: false },
          ),
        );
        if (!entry) throw new NotFoundError(`Configuration "${entryKey}" of tenant "${tenant}" vanished while it was written; set it again.`, errorContext(store));
        return withoutId(entry);
      });
    },

    /** Returns undefined when the key was never set for the tenant. */
    async getConfig<T>(tenantId: string, key: string) {
      const tenant = parseInput(idSchema, tenantId, "tenant id", errorContext(store));
      const entryKey = parseInput(configKeySchema, key, "configuration key", errorContext(store));
      const collection = await configurations();
      const entry = await run("Reading configuration", () => collection.findOne({ _id: docKey(tenant, entryKey) }), true);
      return entry === null ? undefined : (entry.value as T);
    },

    /** Defining an existing flag updates its default and description and keeps its overrides. */
    async defineFlag(input) {
      const parsed = parseInput(flagInputSchema, input, "feature flag", errorContext(store));
      const collection = await flags();
      return store.exclusive(`feature_flags/${parsed.key}`, async () => {
        const fields = { key: parsed.key, defaultEnabled: parsed.defaultEnabled, updatedAt: now().toISOString() };
        for (;;) {
          const current = await run("Reading feature flag", () => collection.findOne({ _id: parsed.key }), true);
          if (!current) {
            // Inserted whole, because FerretDB 1.24 ignores $setOnInsert in findAndModify upserts.
            const flag: FlagDocument = { _id: parsed.key, ...fields, overrides: [], revision: 1, ...(parsed.description === undefined ? {} : { description: parsed.description }) };
            const inserted = await run(`Defining feature flag "${parsed.key}"`, () => collection.insertOne(flag).then(() => true)).catch((error: unknown) => {
              if ((error as { code?: string }).code === "DUPLICATE_KEY") return false;
              throw error;
            });
            if (inserted) return toFlag(flag);
            continue;
          }
          const update: Document = { $set: fields, $inc: { revision: 1 } };
          if (parsed.description === undefined) update.$unset = { description: "" };
          else update.$set.description = parsed.description;
          const updated = await run(`Defining feature flag "${parsed.key}"`, () =>
            collection.findOneAndUpdate({ _id: parsed.key, revision: current.revision ?? { $exists: false } } as Document, update, {
              returnDocument: "after",
              includeResultMetadata: false,
            }),
          );
          if (updated) return toFlag(updated as FlagDocument);
        }
      });
    },

    /** `enabled: null` removes the tenant's override, so the flag's default applies again. */
    async setFlagOverride(key, tenantId, enabled) {
      const collection = await flags();
      const flag = await readFlag(collection, key);
      const tenant = await requireTenant(tenantId);
      if (enabled !== null && typeof enabled !== "boolean") {
        throw new ValidationError(`Invalid override for flag "${flag.key}": expected true, false or null, got ${JSON.stringify(enabled)}.`, errorContext(store));
      }

      // Written whole on { _id, revision }, so two overrides set at once cannot leave two entries for one tenant.
      return store.exclusive(`feature_flags/${flag.key}`, async () => {
        for (;;) {
          const current = await readFlag(collection, flag.key);
          const overrides = (current.overrides ?? []).filter((entry) => entry.tenantId !== tenant);
          if (enabled !== null) overrides.push({ tenantId: tenant, enabled });
          const updated = await run(`Setting override of feature flag "${flag.key}"`, () =>
            collection.findOneAndUpdate(
              { _id: flag.key, revision: current.revision ?? { $exists: false } } as Document,
              { $set: { overrides, updatedAt: now().toISOString() }, $inc: { revision: 1 } },
              { returnDocument: "after", includeResultMetadata: false },
            ),
          );
          if (updated) return toFlag(updated as FlagDocument);
        }
      });
    },

    /** Throws NotFoundError for an undefined flag, so a mistyped key fails loudly instead of reading as off. */
    async isEnabled(key, tenantId) {
      const collection = await flags();
      const flag = await readFlag(collection, key);
      const tenant = parseInput(idSchema, tenantId, "tenant id", errorContext(store));
      const override = (flag.overrides ?? []).find((entry) => entry.tenantId === tenant);
      return override ? override.enabled : flag.defaultEnabled;
    },

    /** Ordered by key. */
    async listFlags() {
      const collection = await flags();
      const rows = await run("Listing feature flags", () => collection.find({}).sort({ _id: 1 }).toArray(), true);
      return rows.map(toFlag);
    },
  };
}
