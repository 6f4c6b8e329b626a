// A deliberately broken data store that runs every call as one shared
// tenant, so tenants see each other's records. kit-can-fail.test.ts runs this
// file in a child vitest; the normal run excludes it.
import { createMemoryData, type DataRole, runWithTenant } from "@bridge/core";
import { runDataSuite } from "../../src/index.js";

/** Wraps every method of every module so that it ignores the caller's tenant. */
function leakAcrossTenants(data: DataRole): DataRole {
  const wrap = (target: object): object =>
    new Proxy(target, {
      get(object, property, receiver) {
        const value = Reflect.get(object, property, receiver) as unknown;
        if (typeof value === "function") return (...args: unknown[]) => runWithTenant("shared", () => value.apply(object, args));
        if (typeof value === "object" && value !== null) return wrap(value);
        return value;
      },
    });
  return wrap(data) as DataRole;
}

runDataSuite({
  provider: "leaks-tenants",
  capabilities: { transactions: false, changeStreams: false, textSearch: false, persistent: false },
  modules: ["engagements", "datastore"],
  create: async () => ({ data: leakAcrossTenants(createMemoryData()) }),
});
