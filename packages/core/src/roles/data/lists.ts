import type { Page, PageRequest, Stored } from "./common.js";

export type ListKind = "favourites" | "wishlist" | "saved_cart";

export interface CustomerList extends Stored {
  customerId: string;
  kind: ListKind;
  name: string;
  /** Set when shared; anyone with the token can read the list. */
  shareToken: string | null;
}

export interface ListItem extends Stored {
  listId: string;
  sku: string;
  quantity: number;
  note?: string;
}

export interface ListModule {
  create(input: { customerId: string; kind: ListKind; name: string }): Promise<CustomerList>;
  get(id: string): Promise<CustomerList | null>;
  listForCustomer(customerId: string, page?: PageRequest): Promise<Page<CustomerList>>;
  delete(id: string): Promise<boolean>;
  /** Adds the SKU or raises its quantity when already on the list. */
  addItem(listId: string, item: { sku: string; quantity?: number; note?: string }): Promise<ListItem>;
  removeItem(listId: string, sku: string): Promise<boolean>;
  items(listId: string): Promise<ListItem[]>;
  share(listId: string): Promise<string>;
  unshare(listId: string): Promise<void>;
  getShared(token: string): Promise<{ list: CustomerList; items: ListItem[] } | null>;
}
