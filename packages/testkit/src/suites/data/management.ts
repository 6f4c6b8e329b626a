import { expect, it } from "vitest";
import { expectBridgeError } from "../../harness.js";
import { uniqueIds, walkPages, type DataCaseContext } from "./context.js";

export function registerManagementCases({ start }: DataCaseContext): void {
  it("tenants are global records", async () => {
    const { data, asA, asB, namespace } = await start();
    const created = await asA(() => data.management.upsertTenant({ id: `${namespace}-acme`, name: "Acme Retail" }));
    expect(created).toMatchObject({ id: `${namespace}-acme`, name: "Acme Retail", status: "active", version: 1 });

    await asB(async () => {
      expect(await data.management.getTenant(`${namespace}-acme`), "management data ignores the tenant context").toEqual(created);
      const suspended = await data.management.upsertTenant({ id: `${namespace}-acme`, name: "Acme Retail", status: "suspended" });
      expect(suspended.version).toBe(2);
    });
    expect(await data.management.getTenant(`${namespace}-missing`)).toBeNull();
  });

  it("tenants page by cursor", async () => {
    const { data, namespace } = await start();
    for (let n = 0; n < 5; n++) await data.management.upsertTenant({ id: `${namespace}-t${n}`, name: `Tenant ${n}` });
    const tenants = (await walkPages(2, (page) => data.management.listTenants(page))).filter((tenant) => tenant.id.startsWith(namespace));
    expect(uniqueIds(tenants)).toHaveLength(5);
  });

  it("configuration is per tenant", async () => {
    const { data, namespace } = await start();
    const [acme, globex] = [`${namespace}-acme`, `${namespace}-globex`];
    await data.management.upsertTenant({ id: acme, name: "Acme Retail" });
    await data.management.upsertTenant({ id: globex, name: "Globex" });
    const entry = await data.management.setConfig(acme, "checkout.currency", "USD");
    expect(entry).toMatchObject({ tenantId: acme, key: "checkout.currency", value: "USD", version: 1 });
    await data.management.setConfig(acme, "checkout.limits", { maxLines: 200, approvals: ["manager"] });

    expect(await data.management.getConfig(acme, "checkout.currency")).toBe("USD");
    expect(await data.management.getConfig(acme, "checkout.limits")).toEqual({ maxLines: 200, approvals: ["manager"] });
    expect(await data.management.getConfig(globex, "checkout.currency")).toBeUndefined();
    expect((await data.management.setConfig(acme, "checkout.currency", "EUR")).version).toBe(2);
  });

  it("flags honour tenant overrides", async () => {
    const { data, namespace } = await start();
    const [acme, globex] = [`${namespace}-acme`, `${namespace}-globex`];
    await data.management.upsertTenant({ id: acme, name: "Acme Retail" });
    await data.management.upsertTenant({ id: globex, name: "Globex" });
    const key = `${namespace}.quick-reorder`;
    await data.management.defineFlag({ key, defaultEnabled: false, description: "One-click reorder" });
    expect(await data.management.isEnabled(key, acme)).toBe(false);

    const flag = await data.management.setFlagOverride(key, acme, true);
    expect(flag.overrides[acme]).toBe(true);
    expect(await data.management.isEnabled(key, acme)).toBe(true);
    expect(await data.management.isEnabled(key, globex)).toBe(false);

    await data.management.setFlagOverride(key, acme, null);
    expect(await data.management.isEnabled(key, acme), "a null override falls back to the default").toBe(false);
    expect((await data.management.listFlags()).map((entry) => entry.key)).toContain(key);
  });

  it("invalid management input is rejected", async () => {
    const { data, namespace } = await start();
    await expectBridgeError(data.management.upsertTenant({ id: "", name: "Nameless" }), "VALIDATION_FAILED");
    await expectBridgeError(data.management.upsertTenant({ id: `${namespace}-x`, name: "X", status: "deleted" as never }), "VALIDATION_FAILED", ["deleted"]);
    await data.management.upsertTenant({ id: `${namespace}-acme`, name: "Acme Retail" });
    await expectBridgeError(data.management.setFlagOverride(`${namespace}.no-such-flag`, `${namespace}-acme`, true), "NOT_FOUND", [
      `${namespace}.no-such-flag`,
    ]);
    await expectBridgeError(data.management.setConfig(`${namespace}-acme`, "", "x"), "VALIDATION_FAILED");
  });
}
