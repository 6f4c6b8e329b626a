// UOM configurations in `uom_configurations`, one document per name. The
// checks and the exact decimal conversion are core's: each call hands the
// stored configuration to a throwaway embedded UOM module, so both providers
// accept, reject and round exactly alike.
import { randomUUID } from "node:crypto";
import {
  BridgeError,
  NotFoundError,
  ValidationError,
  createMemoryData,
  currentTenantId,
  isBridgeError,
  parseInput,
  runWithTenant,
  uomConfigurationInputSchema,
  type UomConfiguration,
  type UomModule,
} from "@bridge/core";
import { TenantCollection } from "../collection.js";
import type { MongoStore } from "../store.js";
import { assertId, errorContext, newStoredFields, type ModuleContext } from "./shared.js";
import { mutateRecord, recordLock } from "./versioned.js";

/** Runs `fn` against a fresh embedded UOM module in the current tenant and rewrites its errors as this integration's. */
async function withCoreUom<T>(store: MongoStore, fn: (uom: UomModule) => Promise<T>): Promise<T> {
  const uom = createMemoryData().uom;
  try {
    return await runWithTenant(currentTenantId(), () => fn(uom));
  } catch (error) {
    throw asOwnError(store, error);
  }
}

function asOwnError(store: MongoStore, error: unknown): unknown {
  if (!isBridgeError(error)) return error;
  const context = { ...errorContext(store), details: error.details, cause: error };
  if (error instanceof ValidationError || error.code === "VALIDATION_FAILED") return new ValidationError(error.message, context);
  if (error instanceof NotFoundError || error.code === "NOT_FOUND") return new NotFoundError(error.message, context);
  return new BridgeError(error.message, { ...context, code: error.code });
}

export function createUom(context: ModuleContext): UomModule {
  const { store, now } = context;
  const configurations = new TenantCollection<UomConfiguration>(store, "uom_configurations", "UOM configuration");

  return {
    /** Replaces the named configuration, keeping its id and raising its version. */
    async saveConfiguration(input) {
      const parsed = parseInput(uomConfigurationInputSchema, input, "UOM configuration", errorContext(store));
      await withCoreUom(store, (uom) => uom.saveConfiguration(parsed));
      const fields = { name: parsed.name, units: parsed.units, conversions: parsed.conversions };

      return store.exclusive(`${recordLock(configurations, parsed.name)}#save`, async () => {
        const current = await configurations.findOne({ _id: configurations.key(parsed.name) });
        if (!current) {
          return configurations.insert({ ...newStoredFields(randomUUID(), configurations.tenantId, now()), ...fields }, [parsed.name]);
        }
        const { record } = await mutateRecord(context, configurations, current.id, (stored) => ({ ...stored, ...fields }), { keyParts: [parsed.name] });
        return record;
      });
    },

    async getConfiguration(name) {
      assertId(store, name, "UOM configuration name");
      return configurations.findOne({ _id: configurations.key(name) });
    },

    /** Converts exactly with core's rules: at most 12 decimal places, rounded half-even. */
    async convert(request) {
      assertId(store, request?.configuration, "UOM configuration name");
      const config = await configurations.findOne({ _id: configurations.key(request.configuration) });
      return withCoreUom(store, async (uom) => {
        if (config) await uom.saveConfiguration({ name: config.name, units: config.units, conversions: config.conversions });
        return uom.convert(request);
      });
    },
  };
}
