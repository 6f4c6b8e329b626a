// Customer lists in `lists` and their items in `list_items`, one item per
// list and SKU (`_id` from tenant, list and SKU). A share token reads the list
// only inside the tenant that owns it.
import { randomBytes, randomUUID } from "node:crypto";
import {
  ValidationError,
  idSchema,
  newListItemSchema,
  newListSchema,
  parseInput,
  previewValue,
  skuSchema,
  type CustomerList,
  type ListItem,
  type ListModule,
  type PageRequest,
} from "@bridge/core";
import { TenantCollection } from "../collection.js";
import { assertId, errorContext, newStoredFields, notFound, sequenceKey, type ModuleContext } from "./shared.js";
import { mutateRecord, recordLock } from "./versioned.js";

/** Random bytes in a share token: 192 bits, written as 32 base64url characters. */
export const SHARE_TOKEN_BYTES = 24;
const SHARE_TOKEN_PATTERN = /^[A-Za-z0-9_-]{32}$/;

export const MAX_ITEMS_PER_LIST = 1000;

interface StoredItem extends ListItem {
  /** Orders items by when they were first added; see sequenceKey. */
  seq: string;
}

export function createLists(context: ModuleContext): ListModule {
  const { store, now } = context;
  const lists = new TenantCollection<CustomerList>(store, "lists", "List");
  const items = new TenantCollection<StoredItem>(store, "list_items", "List item");

  async function load(listId: string): Promise<CustomerList> {
    assertId(store, listId, "list id");
    const list = await lists.findById(listId);
    if (!list) throw notFound(store, "List", listId);
    return list;
  }

  async function itemsOf(listId: string): Promise<ListItem[]> {
    const rows = await items.find({ listId }, { sort: { seq: 1 } });
    return rows.map(({ seq: _seq, ...item }) => item);
  }

  /** Raises the list's version, as every change of its items does. */
  async function touch(listId: string, changes: Partial<CustomerList> = {}): Promise<CustomerList> {
    const { record } = await mutateRecord(context, lists, listId, (current) => ({ ...current, ...changes, updatedAt: now().toISOString() }));
    return record;
  }

  return {
    async create(input) {
      const parsed = parseInput(newListSchema, input, "list", errorContext(store));
      return lists.insert({ ...newStoredFields(randomUUID(), lists.tenantId, now()), ...parsed, shareToken: null });
    },

    async get(id) {
      assertId(store, id, "list id");
      return lists.findById(id);
    },

    async listForCustomer(customerId, page: PageRequest = {}) {
      const customer = parseInput(idSchema, customerId, "customer id", errorContext(store));
      return lists.page({ customerId: customer }, { scope: `lists:customer:${customer}`, fields: [], direction: "asc" }, page);
    },

    /** Deletes the list with its items; its share token stops working. */
    async delete(id) {
      assertId(store, id, "list id");
      const deleted = await lists.deleteOne({ _id: lists.key(id) });
      if (deleted) await items.deleteMany({ listId: id });
      return deleted;
    },

    async addItem(listId, input) {
      const list = await load(listId);
      const parsed = parseInput(newListItemSchema, input, "list item", errorContext(store));
      const keyParts = [list.id, parsed.sku];
      const added = parsed.quantity ?? 1;

      const stored = await store.exclusive(recordLock(items, ...keyParts), async () => {
        const current = await items.findOne({ _id: items.key(...keyParts) });
        const at = now();
        if (current) {
          const quantity = current.quantity + added;
          if (!Number.isSafeInteger(quantity)) {
            throw new ValidationError(`Cannot add ${added} of SKU "${parsed.sku}" to list "${list.id}": the quantity would exceed the safe integer range.`, {
              ...errorContext(store),
              details: { listId: list.id, sku: parsed.sku },
            });
          }
          const updated = await items.updateWhere(
            items.key(...keyParts),
            { version: current.version },
            (item) => item.version === current.version,
            { $inc: { quantity: added, version: 1 }, $set: { updatedAt: at.toISOString(), ...(parsed.note === undefined ? {} : { note: parsed.note }) } },
          );
          if (updated) return updated;
          throw new ValidationError(`List item SKU "${parsed.sku}" in list "${list.id}" changed while it was added to; add it again.`, {
            ...errorContext(store),
            details: { listId: list.id, sku: parsed.sku },
          });
        }

        if ((await items.count({ listId: list.id })) >= MAX_ITEMS_PER_LIST) {
          throw new ValidationError(`List "${list.id}" already contains ${MAX_ITEMS_PER_LIST} items, the maximum. Remove items or start another list.`, {
            ...errorContext(store),
            details: { listId: list.id },
          });
        }
        const item: StoredItem = {
          ...newStoredFields(parsed.sku, items.tenantId, at),
          seq: sequenceKey(at),
          listId: list.id,
          sku: parsed.sku,
          quantity: added,
          ...(parsed.note === undefined ? {} : { note: parsed.note }),
        };
        return items.insert(item, keyParts);
      });

      await touch(list.id);
      const { seq: _seq, ...item } = stored;
      return item;
    },

    async removeItem(listId, sku) {
      const list = await load(listId);
      const code = parseInput(skuSchema, sku, "SKU", errorContext(store));
      const removed = await items.deleteOne({ _id: items.key(list.id, code) });
      if (removed) await touch(list.id);
      return removed;
    },

    /** Items in the order they were first added. */
    async items(listId) {
      const list = await load(listId);
      return itemsOf(list.id);
    },

    /** Returns the list's share token, creating one when the list is not shared yet. */
    async share(listId) {
      const list = await load(listId);
      if (list.shareToken !== null) return list.shareToken;
      const token = randomBytes(SHARE_TOKEN_BYTES).toString("base64url");
      // A concurrent share may set its token first; then that one stays and is returned.
      const { record } = await mutateRecord(context, lists, list.id, (current) => (current.shareToken !== null ? current : { ...current, shareToken: token }));
      return record.shareToken ?? token;
    },

    async unshare(listId) {
      const list = await load(listId);
      if (list.shareToken !== null) await touch(list.id, { shareToken: null });
    },

    /** Returns null for an unknown or revoked token; throws ValidationError for a value that cannot be a token. */
    async getShared(token) {
      if (typeof token !== "string" || token.length === 0 || token.length > 256) {
        throw new ValidationError(`Invalid share token ${previewValue(token, 20)}: expected the string returned by share().`, {
          ...errorContext(store),
          details: { token: previewValue(token, 20) },
        });
      }
      if (!SHARE_TOKEN_PATTERN.test(token)) return null;
      const list = await lists.findOne({ shareToken: token });
      if (!list) return null;
      return { list, items: await itemsOf(list.id) };
    },
  };
}
