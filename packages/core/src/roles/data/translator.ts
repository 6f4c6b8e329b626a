import type { Page, PageRequest, Stored } from "./common.js";

export interface FieldMapping {
  /** Dot path in the source record. */
  from: string;
  /** Dot path in the target record. */
  to: string;
  /** Name of a registered transform, such as `trim` or `toMinorUnits`. */
  transform?: string;
  default?: unknown;
  required?: boolean;
}

export interface TranslatorConfig extends Stored {
  name: string;
  /** Monotonic per name; get(name) returns the newest unless a version is asked for. */
  configVersion: number;
  mappings: FieldMapping[];
  /** Per-tenant or per-channel overrides keyed by a label, replacing mappings with the same target. */
  overrides: Record<string, FieldMapping[]>;
}

export interface TranslatorConfigModule {
  /** Stores a new version of the named config. */
  save(input: { name: string; mappings: FieldMapping[]; overrides?: Record<string, FieldMapping[]> }): Promise<TranslatorConfig>;
  get(name: string, options?: { configVersion?: number }): Promise<TranslatorConfig | null>;
  list(page?: PageRequest): Promise<Page<TranslatorConfig>>;
  versions(name: string): Promise<number[]>;
}
