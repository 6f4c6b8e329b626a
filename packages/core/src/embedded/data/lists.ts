// Customer lists (favourites, wishlists, saved carts) with items and share
// tokens. A share token reads the list only inside the tenant that owns it.
import { randomBytes, randomUUID } from "node:crypto";
import { paginate } from "../../data/cursor.js";
import { previewValue } from "../../data/json.js";
import { idSchema, newListItemSchema, newListSchema, parseInput, skuSchema } from "../../data/validation.js";
import { ValidationError } from "../../errors.js";
import type { PageRequest } from "../../roles/data/common.js";
import type { CustomerList, ListItem, ListModule } from "../../roles/data/lists.js";
import { currentTenantId } from "../../tenant.js";
import { type Clock, TenantCollection, assertId, errorContext, newStoredFields, notFound } from "./store.js";

/** Random bytes in a share token: 192 bits, written as 32 base64url characters. */
export const SHARE_TOKEN_BYTES = 24;
const SHARE_TOKEN_PATTERN = /^[A-Za-z0-9_-]{32}$/;

export const MAX_ITEMS_PER_LIST = 1000;

export function createMemoryLists(clock: Clock): ListModule {
  const lists = new TenantCollection<CustomerList>("List", [{ field: "shareToken", key: (list) => list.shareToken ?? undefined }]);
  // Items are keyed by list id and SKU, the same unique pair a database index would use.
  const items = new TenantCollection<ListItem>("List item");
  const itemKey = (listId: string, sku: string) => `${listId}/${sku}`;

  function load(listId: string): CustomerList {
    assertId(listId, "list id");
    const list = lists.get(currentTenantId(), listId);
    if (!list) throw notFound("List", listId);
    return list;
  }

  /** Items in insertion order, which the collection keeps; a removed and re-added SKU moves to the end. */
  function itemsOf(listId: string): ListItem[] {
    return items
      .filter(currentTenantId(), (item) => item.listId === listId)
      .map((item) => ({ ...item, id: item.id.slice(listId.length + 1) }));
  }

  function touch(list: CustomerList, changes: Partial<CustomerList>): CustomerList {
    return lists.replace(list.tenantId, { ...list, ...changes, version: list.version + 1, updatedAt: clock.now().toISOString() });
  }

  return {
    async create(input) {
      const parsed = parseInput(newListSchema, input, "list", errorContext());
      const tenantId = currentTenantId();
      return lists.insert(tenantId, { ...newStoredFields(randomUUID(), tenantId, clock.now()), ...parsed, shareToken: null });
    },

    async get(id) {
      assertId(id, "list id");
      return lists.get(currentTenantId(), id) ?? null;
    },

    async listForCustomer(customerId, page: PageRequest = {}) {
      const customer = parseInput(idSchema, customerId, "customer id", errorContext());
      const matches = lists.filter(currentTenantId(), (list) => list.customerId === customer);
      return paginate(matches, { scope: `lists:customer:${customer}`, key: () => [], direction: "asc" }, page, errorContext());
    },

    /** Deletes the list with its items; its share token stops working. */
    async delete(id) {
      assertId(id, "list id");
      const tenantId = currentTenantId();
      if (!lists.has(tenantId, id)) return false;
      for (const item of items.filter(tenantId, (candidate) => candidate.listId === id)) items.delete(tenantId, item.id);
      return lists.delete(tenantId, id);
    },

    async addItem(listId, input) {
      const list = load(listId);
      const parsed = parseInput(newListItemSchema, input, "list item", errorContext());
      const tenantId = list.tenantId;
      const key = itemKey(list.id, parsed.sku);
      const now = clock.now();

      const current = items.get(tenantId, key);
      let stored: ListItem;
      if (current) {
        const quantity = current.quantity + (parsed.quantity ?? 1);
        if (!Number.isSafeInteger(quantity)) {
          throw new ValidationError(`Cannot add ${parsed.quantity ?? 1} of SKU "${parsed.sku}" to list "${list.id}": the quantity would exceed the safe integer range.`, {
            ...errorContext(),
            details: { listId: list.id, sku: parsed.sku },
          });
        }
        stored = items.replace(tenantId, {
          ...current,
          quantity,
          ...(parsed.note === undefined ? {} : { note: parsed.note }),
          version: current.version + 1,
          updatedAt: now.toISOString(),
        });
      } else {
        if (itemsOf(list.id).length >= MAX_ITEMS_PER_LIST) {
          throw new ValidationError(`List "${list.id}" already contains the maximum of ${MAX_ITEMS_PER_LIST} items. Remove items or start another list.`, {
            ...errorContext(),
            details: { listId: list.id },
          });
        }
        stored = items.insert(tenantId, {
          ...newStoredFields(key, tenantId, now),
          listId: list.id,
          sku: parsed.sku,
          quantity: parsed.quantity ?? 1,
          ...(parsed.note === undefined ? {} : { note: parsed.note }),
        });
      }
      touch(list, {});
      return { ...stored, id: parsed.sku };
    },

    async removeItem(listId, sku) {
      const list = load(listId);
      const code = parseInput(skuSchema, sku, "SKU", errorContext());
      const removed = items.delete(list.tenantId, itemKey(list.id, code));
      if (removed) touch(list, {});
      return removed;
    },

    async items(listId) {
      const list = load(listId);
      return itemsOf(list.id);
    },

    /** Returns the list's share token, creating one when the list is not shared yet. */
    async share(listId) {
      const list = load(listId);
      if (list.shareToken !== null) return list.shareToken;
      const token = randomBytes(SHARE_TOKEN_BYTES).toString("base64url");
      return touch(list, { shareToken: token }).shareToken as string;
    },

    async unshare(listId) {
      const list = load(listId);
      if (list.shareToken !== null) touch(list, { shareToken: null });
    },

    /** Returns null for an unknown or revoked token; throws ValidationError for a value that cannot be a token. */
    async getShared(token) {
      if (typeof token !== "string" || token.length === 0 || token.length > 256) {
        throw new ValidationError(`Invalid share token ${previewValue(token, 20)}: expected the string returned by share().`, {
          ...errorContext(),
          details: { token: previewValue(token, 20) },
        });
      }
      if (!SHARE_TOKEN_PATTERN.test(token)) return null;
      const list = lists.findByUnique(currentTenantId(), "shareToken", token);
      if (!list) return null;
      return { list, items: itemsOf(list.id) };
    },
  };
}
