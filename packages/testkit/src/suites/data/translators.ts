import type { FieldMapping } from "@bridge/core";
import { expect, it } from "vitest";
import { expectBridgeError } from "../../harness.js";
import { walkPages, type DataCaseContext } from "./context.js";

const MAPPINGS: FieldMapping[] = [
  { from: "variant.sku", to: "sku", required: true },
  { from: "title", to: "title", transform: "trim" },
  { from: "prices.0.amount", to: "price.amountMinor", transform: "toMinorUnits" },
];

export function registerTranslatorCases({ start }: DataCaseContext): void {
  it("save creates versions", async () => {
    const { data, asA } = await start();
    await asA(async () => {
      const first = await data.translators.save({ name: "medusa-product", mappings: MAPPINGS });
      expect(first.configVersion).toBe(1);
      const second = await data.translators.save({
        name: "medusa-product",
        mappings: [...MAPPINGS, { from: "handle", to: "slug" }],
        overrides: { "channel:b2b": [{ from: "b2b_title", to: "title" }] },
      });
      expect(second.configVersion).toBe(2);

      expect((await data.translators.get("medusa-product"))?.configVersion).toBe(2);
      const pinned = await data.translators.get("medusa-product", { configVersion: 1 });
      expect(pinned?.mappings).toEqual(MAPPINGS);
      expect((await data.translators.get("medusa-product"))?.overrides["channel:b2b"]).toEqual([{ from: "b2b_title", to: "title" }]);
      expect(await data.translators.versions("medusa-product")).toEqual([1, 2]);
      expect(await data.translators.get("no-such-config")).toBeNull();
      expect(await data.translators.get("medusa-product", { configVersion: 9 })).toBeNull();
    });
  });

  it("list pages configurations", async () => {
    const { data, asA } = await start();
    await asA(async () => {
      for (const name of ["medusa-product", "strapi-page", "erp-order"]) await data.translators.save({ name, mappings: MAPPINGS });
      await data.translators.save({ name: "erp-order", mappings: MAPPINGS });
      const all = await walkPages(2, (page) => data.translators.list(page));
      const names = all.map((config) => config.name).sort();
      expect(new Set(names)).toEqual(new Set(["erp-order", "medusa-product", "strapi-page"]));
    });
  });

  it("invalid mapping is rejected", async () => {
    const { data, asA } = await start();
    await asA(async () => {
      await expectBridgeError(data.translators.save({ name: "bad", mappings: [{ from: "", to: "sku" }] }), "VALIDATION_FAILED");
      await expectBridgeError(data.translators.save({ name: "", mappings: MAPPINGS }), "VALIDATION_FAILED");
      expect(await data.translators.get("bad")).toBeNull();
    });
  });

  it("tenants are isolated", async () => {
    const { data, asA, asB } = await start();
    await asA(() => data.translators.save({ name: "medusa-product", mappings: MAPPINGS }));
    await asB(async () => {
      expect(await data.translators.get("medusa-product")).toBeNull();
      expect(await data.translators.versions("medusa-product")).toEqual([]);
      expect((await data.translators.save({ name: "medusa-product", mappings: MAPPINGS })).configVersion, "versions count per tenant").toBe(1);
    });
  });
}
