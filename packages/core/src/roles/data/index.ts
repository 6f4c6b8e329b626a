import type { DatastoreModule } from "./datastore.js";
import type { EngagementStore } from "./engagements.js";
import type { InventoryModule } from "./inventory.js";
import type { ListModule } from "./lists.js";
import type { ManagementModule } from "./management.js";
import type { PricingModule } from "./pricing.js";
import type { RepositoryModule } from "./repository.js";
import type { TranslatorConfigModule } from "./translator.js";
import type { UomModule } from "./uom.js";
import type { WorkerRegistryModule } from "./workers.js";

export * from "./common.js";
export * from "./datastore.js";
export * from "./engagements.js";
export * from "./inventory.js";
export * from "./lists.js";
export * from "./management.js";
export * from "./pricing.js";
export * from "./repository.js";
export * from "./translator.js";
export * from "./uom.js";
export * from "./workers.js";

export type DataModuleName =
  | "engagements"
  | "datastore"
  | "inventory"
  | "pricing"
  | "workers"
  | "translators"
  | "uom"
  | "repository"
  | "lists"
  | "management";

/** The data role. A provider may supply only some modules; the registry fills the rest from the embedded store. */
export interface DataRole {
  engagements: EngagementStore;
  datastore: DatastoreModule;
  inventory: InventoryModule;
  pricing: PricingModule;
  workers: WorkerRegistryModule;
  translators: TranslatorConfigModule;
  uom: UomModule;
  repository: RepositoryModule;
  lists: ListModule;
  management: ManagementModule;
}

export interface DataCapabilities {
  transactions: boolean;
  changeStreams: boolean;
  textSearch: boolean;
  persistent: boolean;
}
