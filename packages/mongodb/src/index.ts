// @bridge/mongodb: every data module and the logs role on the official
// MongoDB driver, for MongoDB 6+ and FerretDB 1.x.
import type { DataCapabilities, DataRole, Integration, IntegrationContext, ProviderPackage, RoleModules } from "@bridge/core";
import { createLogSink, type MongoLogSink } from "./logs.js";
import { createDatastore, type MongoDatastoreModule } from "./modules/datastore.js";
import { createEngagements } from "./modules/engagements.js";
import { createInventory } from "./modules/inventory.js";
import { createLists } from "./modules/lists.js";
import { createManagement } from "./modules/management.js";
import { createPricing } from "./modules/pricing.js";
import { createRepository } from "./modules/repository.js";
import type { ModuleContext } from "./modules/shared.js";
import { createTranslators } from "./modules/translators.js";
import { createUom } from "./modules/uom.js";
import { createWorkers } from "./modules/workers.js";
import { PACKAGE_NAME, SECRET_VARIABLES, envSchema, optionsFromEnv, resolveOptions, type MongoEnv, type MongoOptions } from "./options.js";
import { MongoStore, type MongoCapabilities, type ServerInfo } from "./store.js";

export { maskUri, envSchema, type MongoOptions, type MongoEnv, type DocumentLocks } from "./options.js";
export type { MongoCapabilities, ServerInfo } from "./store.js";
export type { MongoLogSink } from "./logs.js";
export type { MongoDatastoreModule, MongoProductStore } from "./modules/datastore.js";
export { INDEXES } from "./indexes.js";

export interface MongoDataRole extends DataRole {
  datastore: MongoDatastoreModule;
}

export interface MongoModules extends RoleModules {
  data: MongoDataRole;
  logs: MongoLogSink;
}

export interface MongoIntegration extends Integration<MongoModules> {
  /** What the server supports; filled in at start (before that, everything but persistence reads false). */
  readonly capabilities: DataCapabilities & MongoCapabilities;
  /** Server kind and version, known after start. */
  readonly server: ServerInfo | null;
}

/**
 * Creates the MongoDB integration. Nothing connects until `start()` or the
 * first call of a module; options are checked here and a bad one throws
 * ConfigError naming it.
 */
export function mongodb(options: MongoOptions & { now?: () => Date }): MongoIntegration {
  const { now = () => new Date(), ...rest } = options ?? ({} as MongoOptions);
  const resolved = resolveOptions(rest);
  const store = new MongoStore(resolved);
  const context: ModuleContext = { store, now };
  const logs = createLogSink(store);

  const data: MongoDataRole = {
    engagements: createEngagements(context),
    datastore: createDatastore(context),
    inventory: createInventory(context),
    pricing: createPricing(context),
    workers: createWorkers(context),
    translators: createTranslators(context),
    uom: createUom(context),
    repository: createRepository(context),
    lists: createLists(context),
    management: createManagement(context),
  };

  return {
    name: resolved.name,
    roles: ["data", "logs"],
    modules: { data, logs },

    get capabilities() {
      return { ...store.capabilities, persistent: true };
    },

    get server() {
      return store.server;
    },

    async start(startContext: IntegrationContext) {
      store.logger = startContext.logger;
      await store.connect();
      logs.startCleanup();
    },

    health() {
      return store.health();
    },

    async stop({ deadlineMs }) {
      logs.stopCleanup();
      let timer: NodeJS.Timeout | undefined;
      const deadline = new Promise<"timeout">((resolve) => {
        timer = setTimeout(() => resolve("timeout"), deadlineMs);
      });
      const closed = await Promise.race([store.close().then(() => "closed" as const), deadline]);
      clearTimeout(timer);
      if (closed === "timeout") store.logger.warn("MongoDB client did not close within the deadline", { deadlineMs });
      else store.logger.info("disconnected from MongoDB", { uri: store.maskedUri });
    },
  };
}

/** Read by `createBridgeFromEnv` when BRIDGE_DATA or BRIDGE_LOGS names mongodb. */
export const provider: ProviderPackage<typeof envSchema> = {
  name: "mongodb",
  roles: ["data", "logs"],
  envSchema,
  secretVariables: SECRET_VARIABLES,
  fromEnv(config: MongoEnv) {
    return mongodb(optionsFromEnv(config));
  },
};

export { PACKAGE_NAME };
