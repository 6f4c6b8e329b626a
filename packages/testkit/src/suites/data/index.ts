import type { DataCapabilities, DataModuleName, DataRole } from "@bridge/core";
import { afterEach, describe, expect } from "vitest";
import { describeConformance, InstanceTracker, newNamespace, type CaseTimeoutOptions } from "../../harness.js";
import { tenantRunners, type DataCaseContext, type DataCaseSetup } from "./context.js";
import { registerDatastoreCases } from "./datastore.js";
import { registerEngagementCases } from "./engagements.js";
import { registerInventoryCases } from "./inventory.js";
import { registerListCases } from "./lists.js";
import { registerManagementCases } from "./management.js";
import { registerPricingCases } from "./pricing.js";
import { registerRepositoryCases } from "./repository.js";
import { registerTranslatorCases } from "./translators.js";
import { registerUomCases } from "./uom.js";
import { registerWorkerCases } from "./workers.js";

export interface DataInstance {
  /** The modules the provider supplies; the suite checks the ones named in `modules`. */
  data: Partial<DataRole>;
  /** Drops what the instance created (database, collections). */
  cleanup?: () => Promise<void>;
}

export interface DataSuiteOptions extends CaseTimeoutOptions {
  /** One word that names the provider in test titles and in the conformance report. */
  provider: string;
  capabilities: DataCapabilities;
  /** Creates an instance with its own storage (database name, collection prefix) derived from `namespace`. */
  create: (namespace: string) => Promise<DataInstance>;
  /** Modules the provider supplies; all ten when absent. Cases of other modules are not registered. */
  modules?: DataModuleName[];
  /** Concurrent one-unit reservations against 10 units of stock; 200 when absent. */
  inventoryConcurrency?: number;
}

export const DATA_MODULES: readonly DataModuleName[] = [
  "engagements",
  "datastore",
  "inventory",
  "pricing",
  "workers",
  "translators",
  "uom",
  "repository",
  "lists",
  "management",
];

const REGISTER: Record<DataModuleName, (context: DataCaseContext) => void> = {
  engagements: registerEngagementCases,
  datastore: registerDatastoreCases,
  inventory: registerInventoryCases,
  pricing: registerPricingCases,
  workers: registerWorkerCases,
  translators: registerTranslatorCases,
  uom: registerUomCases,
  repository: registerRepositoryCases,
  lists: registerListCases,
  management: registerManagementCases,
};

/**
 * Registers the data conformance cases, one describe block per module.
 * Call it at the top level of a vitest test file.
 */
export function runDataSuite(options: DataSuiteOptions): void {
  const modules = options.modules ?? DATA_MODULES;
  const tracker = new InstanceTracker<DataInstance>();

  async function start(): Promise<DataCaseSetup> {
    const namespace = newNamespace();
    const instance = tracker.track(await options.create(namespace));
    for (const module of modules) {
      expect(instance.data[module], `provider ${options.provider} lists module "${module}" but create() returned no such module`).toBeDefined();
    }
    return { data: instance.data as DataRole, namespace, ...tenantRunners(namespace) };
  }

  const context: DataCaseContext = { start, inventoryConcurrency: options.inventoryConcurrency ?? 200 };

  // NOTE: DataRole has no capabilities field to compare, so the data declaration is recorded but never checked.
  describeConformance({ role: "data", provider: options.provider, capabilities: { ...options.capabilities, modules: [...modules] } }, () => {
    afterEach(async () => {
      for (const instance of tracker.drain()) await instance.cleanup?.();
    });

    for (const module of modules) {
      describe(module, () => REGISTER[module](context));
    }
  }, { caseTimeoutMs: options.caseTimeoutMs });
}
