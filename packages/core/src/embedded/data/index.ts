// The embedded data role: all ten modules in memory, scoped by the current
// tenant. State lives as long as the returned object.
import type { DataCapabilities, DataRole } from "../../roles/data/index.js";
import { createMemoryDatastore } from "./datastore.js";
import { createMemoryEngagements } from "./engagements.js";
import { createMemoryInventory } from "./inventory.js";
import { createMemoryLists } from "./lists.js";
import { createMemoryManagement } from "./management.js";
import { createMemoryPricing } from "./pricing.js";
import { createMemoryRepository } from "./repository.js";
import type { Clock } from "./store.js";
import { createMemoryTranslators } from "./translators.js";
import { createMemoryUom } from "./uom.js";
import { createMemoryWorkers } from "./workers.js";

export interface MemoryDataOptions {
  /** Clock for timestamps, reservation expiry and price validity; `() => new Date()` by default. */
  now?: () => Date;
}

export const MEMORY_DATA_CAPABILITIES: DataCapabilities = {
  transactions: false,
  changeStreams: false,
  textSearch: false,
  persistent: false,
};

export function createMemoryData(options: MemoryDataOptions = {}): DataRole {
  const clock: Clock = { now: options.now ?? (() => new Date()) };
  return {
    engagements: createMemoryEngagements(clock),
    datastore: createMemoryDatastore(clock),
    inventory: createMemoryInventory(clock),
    pricing: createMemoryPricing(clock),
    workers: createMemoryWorkers(clock),
    translators: createMemoryTranslators(clock),
    uom: createMemoryUom(clock),
    repository: createMemoryRepository(clock),
    lists: createMemoryLists(clock),
    management: createMemoryManagement(clock),
  };
}
