// Server names of Bridge's logical indexes. Each tenant gets its own alias,
// `<prefix>.<tenant>.<index>`, that points at one concrete index
// `<alias>.v<version>`. A full reindex builds the next version and then moves
// the alias, so readers never see a half-built index.
import type { ResolvedOptions } from "./options.js";

/** Kinds of index whose mapping is tuned beyond what the field types give. */
export type IndexKind = "products" | "warehouses" | "zones" | "generic";

/** OpenSearch rejects index names longer than 255 bytes; the version suffix needs the rest. */
const MAX_ALIAS_BYTES = 230;

/** Tenant id characters kept as they are in index names; every other byte is written as `~` and two hex digits. */
const SAFE_TENANT_CHARACTER = /[a-z0-9_-]/;

/**
 * Encodes a tenant id for an index name, one to one: "acme" stays "acme",
 * "Acme Co" becomes "~41cme~20~43o". No two tenant ids give the same text,
 * and the result never contains the "." that separates the name's parts.
 */
export function encodeTenant(tenantId: string): string {
  let encoded = "";
  for (const character of tenantId) {
    if (SAFE_TENANT_CHARACTER.test(character)) {
      encoded += character;
      continue;
    }
    for (const byte of Buffer.from(character, "utf8")) encoded += `~${byte.toString(16).padStart(2, "0")}`;
  }
  return encoded;
}

/** Returns the kind of a logical index from the last part of its name: `products`, `kt1-products` and `shop_products` are products. */
export function indexKind(index: string): IndexKind {
  const last = index.split(/[-_]/).at(-1);
  if (last === "products") return "products";
  if (last === "warehouses" || last === "inventory") return "warehouses";
  if (last === "zones") return "zones";
  return "generic";
}

export interface IndexNames {
  /** The alias that every read and write goes through. */
  alias: string;
  /** Pattern that matches every version of the concrete index, for cleanup. */
  versionPattern: string;
  /** Name of the concrete index of a version. */
  version(version: number): string;
}

/**
 * Server names for a logical index of a tenant. `products` and `warehouses`
 * are renamed to the configured product and inventory index names.
 * Returns undefined when the names would be too long for OpenSearch.
 */
export function indexNames(options: ResolvedOptions, tenantId: string, index: string): IndexNames | undefined {
  let serverIndex = index;
  if (index === "products") serverIndex = options.productIndex;
  else if (index === "warehouses") serverIndex = options.inventoryIndex;

  const alias = `${options.indexPrefix}.${encodeTenant(tenantId)}.${serverIndex}`;
  if (Buffer.byteLength(alias, "utf8") > MAX_ALIAS_BYTES) return undefined;
  return {
    alias,
    versionPattern: `${alias}.v*`,
    version: (version) => `${alias}.v${version}`,
  };
}

/** Reads the version number from a concrete index name made by `IndexNames.version`, or undefined for another name. */
export function versionOf(alias: string, concreteIndex: string): number | undefined {
  if (!concreteIndex.startsWith(`${alias}.v`)) return undefined;
  const digits = concreteIndex.slice(alias.length + 2);
  return /^\d+$/.test(digits) ? Number(digits) : undefined;
}
