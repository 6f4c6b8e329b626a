import type { Stored } from "./common.js";

export interface UnitDefinition {
  code: string;
  name: string;
  /** Units convert only within a dimension, such as count, mass or length. */
  dimension: string;
}

export interface UnitConversion {
  from: string;
  to: string;
  /** Exact decimal factor as a string, such as "12" or "0.45359237". */
  factor: string;
  /** Applies only to this SKU when set (a case of 24 for one product, 12 for another). */
  sku?: string;
}

export interface UomConfiguration extends Stored {
  name: string;
  units: UnitDefinition[];
  conversions: UnitConversion[];
}

export interface UomModule {
  saveConfiguration(input: { name: string; units: UnitDefinition[]; conversions: UnitConversion[] }): Promise<UomConfiguration>;
  getConfiguration(name: string): Promise<UomConfiguration | null>;
  /** Converts a decimal quantity given as a string and returns an exact decimal string. */
  convert(request: { configuration: string; quantity: string; from: string; to: string; sku?: string }): Promise<string>;
}
