// Translator configs in `translator_configs`: one immutable document per name
// and version, `_id` from tenant, name and version. Saving inserts the next
// version; two saves racing for the same version collide on `_id` and the
// loser takes the version after.
import { randomUUID } from "node:crypto";
import {
  ValidationError,
  isBridgeError,
  parseInput,
  previewValue,
  resolvePageLimit,
  decodeCursor,
  encodeCursor,
  translatorSaveSchema,
  type PageRequest,
  type TranslatorConfig,
  type TranslatorConfigModule,
} from "@bridge/core";
import type { Document } from "mongodb";
import { TenantCollection } from "../collection.js";
import { assertId, errorContext, newStoredFields, type ModuleContext } from "./shared.js";

const MAX_SAVE_ATTEMPTS = 10;
const LIST_SCOPE = "translators:name";

export function createTranslators(context: ModuleContext): TranslatorConfigModule {
  const { store, now } = context;
  const configs = new TenantCollection<TranslatorConfig>(store, "translator_configs", "Translator config");

  async function latest(name: string): Promise<TranslatorConfig | null> {
    const [newest] = await configs.find({ name }, { sort: { configVersion: -1 }, limit: 1 });
    return newest ?? null;
  }

  return {
    async save(input) {
      const parsed = parseInput(translatorSaveSchema, input, "translator config", errorContext(store));
      for (let attempt = 1; ; attempt++) {
        const configVersion = ((await latest(parsed.name))?.configVersion ?? 0) + 1;
        const config: TranslatorConfig = {
          ...newStoredFields(randomUUID(), configs.tenantId, now()),
          name: parsed.name,
          configVersion,
          mappings: parsed.mappings,
          overrides: parsed.overrides ?? {},
        };
        try {
          return await configs.insert(config, [parsed.name, String(configVersion)]);
        } catch (error) {
          if (!isBridgeError(error, "DUPLICATE_KEY") || attempt >= MAX_SAVE_ATTEMPTS) throw error;
        }
      }
    },

    async get(name, options = {}) {
      assertId(store, name, "translator name");
      const wanted = options.configVersion;
      if (wanted !== undefined && (!Number.isSafeInteger(wanted) || wanted < 1)) {
        throw new ValidationError(`Invalid translator configVersion ${previewValue(wanted)}: expected an integer from 1 up.`, {
          ...errorContext(store),
          details: { name, configVersion: previewValue(wanted) },
        });
      }
      if (wanted === undefined) return latest(name);
      return configs.findOne({ _id: configs.key(name, String(wanted)) });
    },

    /**
     * The newest version of each config, ordered by name. Versions are read
     * in (name, configVersion descending) order, so the first row of each name
     * is its newest; each batch resumes after the last name seen.
     */
    async list(page: PageRequest = {}) {
      const context = errorContext(store);
      const limit = resolvePageLimit(page.limit, context);
      let after = page.cursor === undefined || page.cursor === null ? null : String(decodeCursor(LIST_SCOPE, page.cursor, context).key[0] ?? "");

      const newest: TranslatorConfig[] = [];
      const batch = Math.max(limit * 4, 100);
      while (newest.length <= limit) {
        const filter: Document = after === null ? {} : { name: { $gt: after } };
        const rows = await configs.find(filter, { sort: { name: 1, configVersion: -1 }, limit: batch });
        for (const row of rows) {
          if (newest[newest.length - 1]?.name !== row.name) newest.push(row);
        }
        if (rows.length < batch) break;
        after = rows[rows.length - 1]?.name ?? after;
      }

      const items = newest.slice(0, limit);
      const last = items[items.length - 1];
      const nextCursor = newest.length > limit && last ? encodeCursor(LIST_SCOPE, { key: [last.name], id: last.id }) : null;
      return { items, nextCursor };
    },

    async versions(name) {
      assertId(store, name, "translator name");
      const rows = await configs.find({ name }, { sort: { configVersion: 1 }, projection: { configVersion: 1, id: 1 } });
      return rows.map((row) => row.configVersion);
    },
  };
}
