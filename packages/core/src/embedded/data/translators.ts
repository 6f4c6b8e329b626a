// Translator configs, stored as immutable versions per name. The runtime that
// applies them is in data/translator-runtime.ts.
import { randomUUID } from "node:crypto";
import { paginate } from "../../data/cursor.js";
import { previewValue } from "../../data/json.js";
import { parseInput, translatorSaveSchema } from "../../data/validation.js";
import { ValidationError } from "../../errors.js";
import type { PageRequest } from "../../roles/data/common.js";
import type { TranslatorConfig, TranslatorConfigModule } from "../../roles/data/translator.js";
import { currentTenantId } from "../../tenant.js";
import { type Clock, TenantCollection, assertId, errorContext, newStoredFields } from "./store.js";

export function createMemoryTranslators(clock: Clock): TranslatorConfigModule {
  // One record per name and version; `version` of each record stays 1 because versions are never edited.
  const configs = new TenantCollection<TranslatorConfig>("Translator config", [
    { field: "name@configVersion", key: (config) => `${config.name}@${config.configVersion}` },
  ]);

  function versionsOf(name: string): TranslatorConfig[] {
    return configs.filter(currentTenantId(), (config) => config.name === name).sort((a, b) => a.configVersion - b.configVersion);
  }

  return {
    async save(input) {
      const parsed = parseInput(translatorSaveSchema, input, "translator config", errorContext());
      const tenantId = currentTenantId();
      const latest = versionsOf(parsed.name).at(-1);

      const config: TranslatorConfig = {
        ...newStoredFields(randomUUID(), tenantId, clock.now()),
        name: parsed.name,
        configVersion: (latest?.configVersion ?? 0) + 1,
        mappings: parsed.mappings,
        overrides: parsed.overrides ?? {},
      };
      return configs.insert(tenantId, config);
    },

    async get(name, options = {}) {
      assertId(name, "translator name");
      const wanted = options.configVersion;
      if (wanted !== undefined && (!Number.isSafeInteger(wanted) || wanted < 1)) {
        throw new ValidationError(`Invalid translator configVersion ${previewValue(wanted)}: expected an integer from 1 up.`, {
          ...errorContext(),
          details: { name, configVersion: previewValue(wanted) },
        });
      }
      const versions = versionsOf(name);
      const found = wanted === undefined ? versions.at(-1) : versions.find((config) => config.configVersion === wanted);
      return found ?? null;
    },

    /** The newest version of each config, ordered by name. */
    async list(page: PageRequest = {}) {
      const newest = new Map<string, TranslatorConfig>();
      for (const config of configs.all(currentTenantId())) {
        const seen = newest.get(config.name);
        if (!seen || seen.configVersion < config.configVersion) newest.set(config.name, config);
      }
      return paginate([...newest.values()], { scope: "translators:name", key: (config) => [config.name], direction: "asc" }, page, errorContext());
    },

    async versions(name) {
      assertId(name, "translator name");
      return versionsOf(name).map((config) => config.configVersion);
    },
  };
}
