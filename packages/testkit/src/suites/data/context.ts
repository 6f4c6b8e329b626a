import { runWithTenant, type DataRole, type Page, type PageRequest } from "@bridge/core";
import { expect } from "vitest";

/** Starting point of every data case: a fresh instance and two tenants of its own. */
export interface DataCaseSetup {
  data: DataRole;
  namespace: string;
  tenantA: string;
  tenantB: string;
  /** Runs `fn` as tenant A. */
  asA<T>(fn: () => Promise<T>): Promise<T>;
  /** Runs `fn` as tenant B. */
  asB<T>(fn: () => Promise<T>): Promise<T>;
}

export interface DataCaseContext {
  start(): Promise<DataCaseSetup>;
  /** Concurrent one-unit reservations against 10 units of stock. */
  inventoryConcurrency: number;
}

export function tenantRunners(namespace: string): Pick<DataCaseSetup, "tenantA" | "tenantB" | "asA" | "asB"> {
  const tenantA = `${namespace}-a`;
  const tenantB = `${namespace}-b`;
  return {
    tenantA,
    tenantB,
    asA: (fn) => runWithTenant(tenantA, fn),
    asB: (fn) => runWithTenant(tenantB, fn),
  };
}

/**
 * Follows `nextCursor` from the first page to the last and returns every
 * item. Fails when a page is larger than the limit or the walk does not end.
 */
export async function walkPages<T>(limit: number, fetchPage: (request: PageRequest) => Promise<Page<T>>): Promise<T[]> {
  const items: T[] = [];
  let cursor: string | null = null;
  for (let pages = 0; pages < 1_000; pages++) {
    const page: Page<T> = await fetchPage({ limit, cursor });
    expect(page.items.length, "page size").toBeLessThanOrEqual(limit);
    items.push(...page.items);
    if (page.nextCursor === null) return items;
    cursor = page.nextCursor;
  }
  return expect.fail("pagination did not end after 1000 pages: nextCursor never became null");
}

/** Ids of `items`, failing when one appears twice. */
export function uniqueIds(items: Array<{ id: string }>): string[] {
  const ids = items.map((item) => item.id);
  expect(new Set(ids).size, "an item appeared on two pages").toBe(ids.length);
  return ids;
}

/** Values that would be operators or code if a store passed them to its database unchecked. */
export const INJECTION_VALUES: ReadonlyArray<{ label: string; value: unknown }> = [
  { label: "{ $ne: null }", value: { $ne: null } },
  { label: "{ $where: ... }", value: { $where: "sleep(100) || true" } },
  { label: "{ $gt: '' }", value: { $gt: "" } },
  { label: "{ $regex: '.*' }", value: { $regex: ".*" } },
];
