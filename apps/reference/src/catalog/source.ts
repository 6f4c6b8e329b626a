import { readFile } from "node:fs/promises";
import { fileURLToPath } from "node:url";
import { ValidationError } from "@bridge/core";

/** Folder of the bundled data files (a copy of the public data sets, each folder has a SOURCE.md). */
export const DATA_DIR = fileURLToPath(new URL("../../data/", import.meta.url));

export interface SourceFiles {
  products: string;
  categories: string;
  stores: string;
}

export const DEFAULT_SOURCE_FILES: SourceFiles = {
  products: `${DATA_DIR}typesense-ecommerce/products.json`,
  categories: `${DATA_DIR}bestbuy/categories.json`,
  stores: `${DATA_DIR}bestbuy/stores.json`,
};

/** Reads a JSON file whose top level is an array of records. */
export async function readRecords(path: string): Promise<unknown[]> {
  const text = await readFile(path, "utf8");
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw new ValidationError(`Source file ${path} is not valid JSON: ${(error as Error).message}. Fix or replace the file and import again`, {
      details: { path },
      cause: error,
    });
  }
  if (!Array.isArray(parsed)) {
    throw new ValidationError(`Source file ${path} must contain a JSON array of records, got ${parsed === null ? "null" : typeof parsed}`, {
      details: { path },
    });
  }
  return parsed;
}
