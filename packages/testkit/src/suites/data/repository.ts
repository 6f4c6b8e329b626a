import type { FieldFilter } from "@bridge/core";
import { expect, it } from "vitest";
import { expectBridgeError } from "../../harness.js";
import { INJECTION_VALUES, uniqueIds, walkPages, type DataCaseContext } from "./context.js";

export function registerRepositoryCases({ start }: DataCaseContext): void {
  it("put, get and history", async () => {
    const { data, asA, tenantA } = await start();
    await asA(async () => {
      const first = await data.repository.put("supplier-contracts", "sc-1", { supplier: "Acme", status: "draft" });
      expect(first).toMatchObject({ id: "sc-1", collection: "supplier-contracts", tenantId: tenantA, version: 1 });
      const second = await data.repository.put("supplier-contracts", "sc-1", { supplier: "Acme", status: "signed" }, { expectedVersion: 1 });
      expect(second.version).toBe(2);

      expect((await data.repository.get("supplier-contracts", "sc-1"))?.data).toEqual({ supplier: "Acme", status: "signed" });
      const history = await data.repository.history("supplier-contracts", "sc-1");
      expect(history.map((document) => document.version)).toEqual([1]);
      expect(history[0]?.data).toEqual({ supplier: "Acme", status: "draft" });
      expect(await data.repository.get("supplier-contracts", "no-such-id")).toBeNull();
    });
  });

  it("writes check the version", async () => {
    const { data, asA } = await start();
    await asA(async () => {
      await data.repository.put("supplier-contracts", "sc-1", { status: "draft" });
      await data.repository.put("supplier-contracts", "sc-1", { status: "signed" });
      await expectBridgeError(
        data.repository.put("supplier-contracts", "sc-1", { status: "stale" }, { expectedVersion: 1 }),
        "VERSION_CONFLICT",
        ["sc-1"],
      );
      await expectBridgeError(data.repository.delete("supplier-contracts", "sc-1", { expectedVersion: 1 }), "VERSION_CONFLICT");
      expect((await data.repository.get("supplier-contracts", "sc-1"))?.data).toEqual({ status: "signed" });

      expect(await data.repository.delete("supplier-contracts", "sc-1", { expectedVersion: 2 })).toBe(true);
      expect(await data.repository.get("supplier-contracts", "sc-1")).toBeNull();
      expect(await data.repository.delete("supplier-contracts", "sc-1")).toBe(false);
    });
  });

  it("find filters and pages", async () => {
    const { data, asA } = await start();
    await asA(async () => {
      const documents = Array.from({ length: 12 }, (_, n) => ({ id: `rma-${String(n).padStart(2, "0")}`, data: { status: n % 3 === 0 ? "closed" : "open", n } }));
      expect(await data.repository.bulkPut("returns", documents)).toEqual({ inserted: 12, updated: 0, failed: [] });

      const open = await walkPages(3, (page) => data.repository.find("returns", { status: "open" }, page));
      expect(uniqueIds(open)).toHaveLength(8);
      for (const document of open) expect(document.data.status).toBe("open");
      expect((await data.repository.find("returns", { status: ["open", "closed"] }, { limit: 100 })).items).toHaveLength(12);
      expect((await data.repository.find("returns", { n: 4 })).items.map((document) => document.id)).toEqual(["rma-04"]);
    });
  });

  it("find rejects operators", async () => {
    const { data, asA } = await start();
    await asA(async () => {
      await data.repository.put("returns", "rma-1", { status: "open" });
      for (const { label, value } of INJECTION_VALUES) {
        await expectBridgeError(
          data.repository.find("returns", { status: value } as unknown as FieldFilter),
          "INVALID_FILTER",
          ["status"],
          `status ${label}`,
        );
      }
      await expectBridgeError(data.repository.find("returns", { $where: "this.status == 'open'" }), "INVALID_FILTER", ["$where"]);
      await expectBridgeError(data.repository.find("returns", { "data.status": "open" }), "INVALID_FILTER");
    });
  });

  it("bulk put reports bad rows", async () => {
    const { data, asA } = await start();
    await asA(async () => {
      const result = await data.repository.bulkPut("returns", [
        { id: "rma-1", data: { status: "open" } },
        { id: "", data: { status: "open" } },
        { id: "rma-2", data: { status: "open", $where: "1" } },
        { id: "rma-3", data: { status: "closed" } },
      ]);
      expect(result.inserted).toBe(2);
      expect(result.failed.map((failure) => failure.index)).toEqual([1, 2]);
    });
  });

  it("collections are separate", async () => {
    const { data, asA } = await start();
    await asA(async () => {
      await data.repository.put("returns", "doc-1", { kind: "return" });
      await data.repository.put("supplier-contracts", "doc-1", { kind: "contract" });
      expect((await data.repository.get("returns", "doc-1"))?.data).toEqual({ kind: "return" });
      expect((await data.repository.get("supplier-contracts", "doc-1"))?.data).toEqual({ kind: "contract" });
    });
  });

  it("tenants are isolated", async () => {
    const { data, asA, asB } = await start();
    await asA(() => data.repository.put("returns", "rma-1", { status: "open" }));
    await asB(async () => {
      expect(await data.repository.get("returns", "rma-1")).toBeNull();
      expect((await data.repository.find("returns", {})).items).toEqual([]);
      expect(await data.repository.history("returns", "rma-1")).toEqual([]);
      expect(await data.repository.delete("returns", "rma-1")).toBe(false);
      const own = await data.repository.put("returns", "rma-1", { status: "tenant b" });
      expect(own.version, "tenant B starts its own document").toBe(1);
    });
    await asA(async () => {
      expect((await data.repository.get("returns", "rma-1"))?.data).toEqual({ status: "open" });
    });
  });
}
