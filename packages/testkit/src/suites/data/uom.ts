import { expect, it } from "vitest";
import { expectBridgeError } from "../../harness.js";
import type { DataCaseContext } from "./context.js";

const CONFIGURATION = {
  name: "retail",
  units: [
    { code: "EA", name: "Each", dimension: "count" },
    { code: "CS", name: "Case", dimension: "count" },
    { code: "LB", name: "Pound", dimension: "mass" },
    { code: "KG", name: "Kilogram", dimension: "mass" },
  ],
  conversions: [
    { from: "CS", to: "EA", factor: "12" },
    { from: "CS", to: "EA", factor: "24", sku: "4984700" },
    { from: "LB", to: "KG", factor: "0.45359237" },
  ],
};

export function registerUomCases({ start }: DataCaseContext): void {
  it("converts within a dimension", async () => {
    const { data, asA } = await start();
    await asA(async () => {
      const saved = await data.uom.saveConfiguration(CONFIGURATION);
      expect(saved.units).toHaveLength(4);
      expect((await data.uom.getConfiguration("retail"))?.conversions).toHaveLength(3);

      expect(await data.uom.convert({ configuration: "retail", quantity: "2", from: "CS", to: "EA" })).toBe("24");
      expect(await data.uom.convert({ configuration: "retail", quantity: "2", from: "CS", to: "EA", sku: "4984700" }), "a SKU conversion wins").toBe("48");
      expect(await data.uom.convert({ configuration: "retail", quantity: "5", from: "EA", to: "EA" })).toBe("5");
    });
  });

  it("conversion is exact decimal", async () => {
    const { data, asA } = await start();
    await asA(async () => {
      await data.uom.saveConfiguration(CONFIGURATION);
      // 0.1 and 0.45359237 have no exact binary floating-point form.
      expect(await data.uom.convert({ configuration: "retail", quantity: "0.1", from: "LB", to: "KG" })).toBe("0.045359237");
      expect(await data.uom.convert({ configuration: "retail", quantity: "3", from: "LB", to: "KG" })).toBe("1.36077711");
    });
  });

  it("invalid conversions are rejected", async () => {
    const { data, asA } = await start();
    await asA(async () => {
      await data.uom.saveConfiguration(CONFIGURATION);
      await expectBridgeError(data.uom.convert({ configuration: "retail", quantity: "1", from: "CS", to: "KG" }), "VALIDATION_FAILED", ["CS", "KG"]);
      await expectBridgeError(data.uom.convert({ configuration: "retail", quantity: "abc", from: "CS", to: "EA" }), "VALIDATION_FAILED", ["abc"]);
      await expectBridgeError(data.uom.convert({ configuration: "retail", quantity: "1", from: "PALLET", to: "EA" }), ["VALIDATION_FAILED", "NOT_FOUND"], ["PALLET"]);
      await expectBridgeError(data.uom.convert({ configuration: "no-such-config", quantity: "1", from: "CS", to: "EA" }), "NOT_FOUND", ["no-such-config"]);
      await expectBridgeError(
        data.uom.saveConfiguration({ ...CONFIGURATION, name: "broken", conversions: [{ from: "CS", to: "EA", factor: "twelve" }] }),
        "VALIDATION_FAILED",
        ["twelve"],
      );
    });
  });

  it("tenants are isolated", async () => {
    const { data, asA, asB } = await start();
    await asA(() => data.uom.saveConfiguration(CONFIGURATION));
    await asB(async () => {
      expect(await data.uom.getConfiguration("retail")).toBeNull();
      await expectBridgeError(data.uom.convert({ configuration: "retail", quantity: "1", from: "CS", to: "EA" }), "NOT_FOUND");
    });
  });
}
