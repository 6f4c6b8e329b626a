// Health, start and stop against the local node, and a node that is not there.
import { randomBytes } from "node:crypto";
import { createServer, type AddressInfo } from "node:net";
import { createBridgeFromEnv, isBridgeError, runWithTenant } from "@bridge/core";
import { describeWithService } from "@bridge/testkit";
import { afterEach, expect, it } from "vitest";
import * as opensearchPackage from "../src/index.js";
import { opensearch } from "../src/index.js";
import { deleteIndexes, OPENSEARCH_NODE, startIntegration, testLogger } from "./helpers.js";

/** Returns a port on 127.0.0.1 that nothing listens on, by binding it once and releasing it. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

const cleanups: Array<() => Promise<void>> = [];

describeWithService("opensearch", "opensearch health", () => {
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0)) await cleanup();
  });

  it("is up on a green cluster, with the version", async () => {
    const prefix = `hx${randomBytes(4).toString("hex")}`;
    const { integration, search, lines } = await startIntegration({ indexPrefix: prefix });
    cleanups.push(async () => {
      await integration.stop({ deadlineMs: 1_000 });
      await deleteIndexes(prefix);
    });
    await runWithTenant("t", () => search.ensureIndex({ name: "things", fields: { name: "text" } }));

    const health = await integration.health();
    expect(health.status).toBe("up");
    expect(health.detail?.version).toMatch(/^2\.\d+\.\d+$/);
    expect(health.detail?.indexStatus).toBe("green");
    expect(health.detail?.indexPattern).toBe(`${prefix}.*`);
    expect(lines.some((line) => line.startsWith("info connected to OpenSearch"))).toBe(true);
  });

  it("is degraded while replicas cannot be placed", async () => {
    const prefix = `hx${randomBytes(4).toString("hex")}`;
    // One replica on a single node: the replica stays unassigned and the index yellow.
    const { integration, search, lines } = await startIntegration({ indexPrefix: prefix, replicas: 1 });
    cleanups.push(async () => {
      await integration.stop({ deadlineMs: 1_000 });
      await deleteIndexes(prefix);
    });
    expect(lines.some((line) => line.startsWith("warn indexes will stay yellow"))).toBe(true);
    await runWithTenant("t", () => search.ensureIndex({ name: "things", fields: { name: "text" } }));

    const health = await integration.health();
    expect(health.status).toBe("degraded");
    expect(health.detail?.indexStatus).toBe("yellow");
    expect(String(health.detail?.reason)).toContain("OPENSEARCH_INDEX_REPLICAS=0");

    await runWithTenant("t", () => search.dropIndex("things"));
    expect((await integration.health()).status).toBe("up");
  });

  it("is down when the node is unreachable, without showing the password", async () => {
    const port = await closedPort();
    const integration = opensearch({ node: `http://bridge:hunter2@127.0.0.1:${port}`, retries: 0 });

    const health = await integration.health();
    expect(health.status).toBe("down");
    expect(String(health.detail?.error)).toContain("not reachable");
    expect(JSON.stringify(health)).not.toContain("hunter2");
    expect(JSON.stringify(health)).toContain("bridge:****@127.0.0.1");

    let caught: unknown;
    try {
      await integration.start({ logger: testLogger().logger });
    } catch (error) {
      caught = error;
    }
    expect(isBridgeError(caught, "UNAVAILABLE")).toBe(true);
    expect((caught as Error).message).toContain("pnpm services:up");
    expect((caught as Error).message).not.toContain("hunter2");

    await expect(runWithTenant("t", () => integration.modules.search.search({ index: "things" }))).rejects.toMatchObject({ code: "UNAVAILABLE" });
    await integration.stop({ deadlineMs: 100 });
  });

  it("refuses calls after stop", async () => {
    const { integration, search } = await startIntegration({ indexPrefix: `hx${randomBytes(4).toString("hex")}` });
    await integration.stop({ deadlineMs: 1_000 });
    await expect(runWithTenant("t", () => search.count("things"))).rejects.toMatchObject({ code: "CLOSED" });
  });

  it("serves the search role of a bridge built from the environment", async () => {
    const prefix = `hx${randomBytes(4).toString("hex")}`;
    const bridge = await createBridgeFromEnv(
      { BRIDGE_SEARCH: "opensearch", OPENSEARCH_NODE, OPENSEARCH_INDEX_REPLICAS: "0", OPENSEARCH_INDEX_PREFIX: prefix, BRIDGE_LOG_STDERR: "false" },
      { loadProvider: async () => opensearchPackage },
    );
    cleanups.push(async () => {
      await bridge.stop({ drainMs: 1_000 });
      await deleteIndexes(prefix);
    });
    await bridge.start();

    await runWithTenant("t", async () => {
      await bridge.search.ensureIndex({ name: "things", fields: { name: "text" } });
      await bridge.search.index("things", { id: "1", name: "Walnut desk" });
      await bridge.search.refresh("things");
      expect((await bridge.search.search({ index: "things", text: "walnut" })).total).toBe(1);
    });
    const health = await bridge.health();
    expect(JSON.stringify(health)).toContain("opensearch");
    expect(bridge.providers.search).toEqual(["opensearch"]);
  });
});
