// Provider-specific behaviour against the real server: capability detection
// and fallbacks, tenant isolation at the collection level, operator
// injection, partial writes, document locks, persistence across restarts and
// losing the server.
import { createServer, Socket, type Server } from "node:net";
import { isBridgeError, runWithTenant, type LogEntry } from "@bridge/core";
import { describeWithService } from "@bridge/testkit";
import { MongoClient } from "mongodb";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { INDEXES, mongodb, type MongoIntegration } from "../src/index.js";
import { docKey } from "../src/store.js";
import { dropDatabase, recordingLogger, startIntegration, testDatabase } from "./helpers.js";

async function rejection(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    (value) => expect.fail(`expected a rejection, got ${JSON.stringify(value)}`),
    (error: unknown) => error,
  );
}

describeWithService("mongodb", "@bridge/mongodb on a real server", (service) => {
  const database = testDatabase("integration");
  const logger = recordingLogger();
  let integration: MongoIntegration;
  let raw: MongoClient;

  beforeAll(async () => {
    integration = await startIntegration(mongodb({ uri: service.url, database, lockWaitMs: 500, lockLeaseMs: 2_000 }), logger);
    raw = new MongoClient(service.url);
    await raw.connect();
  });

  afterAll(async () => {
    await integration.stop({ deadlineMs: 5_000 });
    await raw.close();
    await dropDatabase(service.url, database);
  });

  describe("capabilities", () => {
    it("are detected from the server", () => {
      const server = integration.server;
      expect(server?.kind).toMatch(/^(mongodb|ferretdb)$/);
      expect(integration.capabilities.persistent).toBe(true);
      if (server?.kind === "ferretdb") {
        expect(integration.capabilities).toMatchObject({ transactions: false, changeStreams: false, textSearch: false, ttlIndexes: false, atomicUpdates: false });
      }
      if (server?.kind === "mongodb") expect(integration.capabilities.atomicUpdates).toBe(true);
    });

    it("indexes exist after start", async () => {
      const products = await raw.db(database).collection("products").listIndexes().toArray();
      const sku = products.find((index) => index.name === "tenant_sku");
      expect(sku?.unique).toBe(true);
      expect(sku?.key).toEqual({ tenantId: 1, sku: 1 });

      for (const definition of INDEXES.filter((index) => index.kind === "plain" || index.kind === "unique")) {
        const names = (await raw.db(database).collection(definition.collection).listIndexes().toArray()).map((index) => index.name);
        expect(names, `${definition.collection}.${definition.name}`).toContain(definition.name);
      }
    });

    it("health reports up with the server and capabilities", async () => {
      const health = await integration.health();
      expect(health.status).toBe("up");
      expect(health.detail).toMatchObject({ database, capabilities: integration.capabilities });
    });

    it("a second start creates the indexes again without error", async () => {
      const second = await startIntegration(mongodb({ uri: service.url, database }));
      await second.stop({ deadlineMs: 5_000 });
    });
  });

  describe("tenant isolation", () => {
    it("tenant B cannot read, update or delete tenant A's records", async () => {
      const { data } = integration.modules;
      const product = await runWithTenant("iso-a", () => data.datastore.products.create({ id: "shared-id", sku: "ISO-1", title: "Tenant A phone" }));
      const order = await runWithTenant("iso-a", () => data.engagements.create({ id: "order-1", customerId: "customer-1", type: "order" }));

      await runWithTenant("iso-b", async () => {
        expect(await data.datastore.products.get("shared-id")).toBeNull();
        expect(await data.datastore.products.getBySku("ISO-1")).toBeNull();
        expect((await data.datastore.products.list()).items).toEqual([]);
        const update = await rejection(data.datastore.products.update("shared-id", { title: "Hijacked" }));
        expect(isBridgeError(update, "NOT_FOUND")).toBe(true);
        expect(await data.datastore.products.delete("shared-id")).toBe(false);
        expect(await data.engagements.get("order-1")).toBeNull();
        expect(isBridgeError(await rejection(data.engagements.transition("order-1", "active")), "NOT_FOUND")).toBe(true);

        // The same id and SKU are free in tenant B.
        const own = await data.datastore.products.create({ id: "shared-id", sku: "ISO-1", title: "Tenant B phone" });
        expect(own.tenantId).toBe("iso-b");
      });

      await runWithTenant("iso-a", async () => {
        expect(await data.datastore.products.get("shared-id")).toEqual(product);
        expect(await data.engagements.get("order-1")).toEqual(order);
      });
    });

    it("stored documents carry the tenant in tenantId and _id", async () => {
      const stored = await raw.db(database).collection("products").find({ sku: "ISO-1" }).toArray();
      expect(stored.map((document) => [document._id, document.tenantId]).sort()).toEqual([
        [docKey("iso-a", "shared-id"), "iso-a"],
        [docKey("iso-b", "shared-id"), "iso-b"],
      ]);
    });

    it("tenant ids with separators cannot collide", () => {
      expect(docKey("a/b", "c")).not.toBe(docKey("a", "b/c"));
      expect(docKey("a:b", "c")).not.toBe(docKey("a", "b:c"));
    });
  });

  describe("bad input", () => {
    const injections = [{ $ne: null }, { $where: "sleep(100) || true" }, { $gt: "" }, { $regex: ".*" }];

    it("operator objects in filters are rejected before the query", async () => {
      const { data } = integration.modules;
      await runWithTenant("inject", async () => {
        for (const value of injections) {
          const list = await rejection(data.datastore.products.list({ filter: { sku: value as never } }));
          expect(isBridgeError(list, "INVALID_FILTER"), JSON.stringify(value)).toBe(true);
          const find = await rejection(data.repository.find("notes", { author: value as never }));
          expect(isBridgeError(find, "INVALID_FILTER"), JSON.stringify(value)).toBe(true);
          const bySku = await rejection(data.datastore.products.getBySku(value as never));
          expect(isBridgeError(bySku, "VALIDATION_FAILED"), JSON.stringify(value)).toBe(true);
          const query = await rejection(data.engagements.query({ customerId: value as never }));
          expect(isBridgeError(query, "VALIDATION_FAILED"), JSON.stringify(value)).toBe(true);
        }
        const key = await rejection(data.repository.find("notes", { $where: "1" } as never));
        expect(isBridgeError(key, "INVALID_FILTER")).toBe(true);
      });
    });

    it("title search treats the text as plain text", async () => {
      const products = integration.modules.data.datastore.products;
      await runWithTenant("search", async () => {
        await products.create({ sku: "CBL-15", title: "USB-C Cable 1.5m" });
        await products.create({ sku: "CBL-105", title: "USB-C Cable 105m" });
        await products.create({ sku: "ADP-1", title: "Adapter (USB-C) [braided]" });

        const dotted = await products.searchTitle("1.5");
        expect(dotted.map((product) => product.sku), "a dot matches only a dot").toEqual(["CBL-15"]);
        expect((await products.searchTitle("usb-c cable")).map((product) => product.sku).sort()).toEqual(["CBL-105", "CBL-15"]);
        expect((await products.searchTitle("(usb-c) [")).map((product) => product.sku)).toEqual(["ADP-1"]);
        expect(await products.searchTitle(".*")).toEqual([]);
        expect(isBridgeError(await rejection(products.searchTitle({ $regex: ".*" } as never)), "VALIDATION_FAILED")).toBe(true);
      });
    });

    it("bulk upsert reports bad rows and writes the rest", async () => {
      const products = integration.modules.data.datastore.products;
      await runWithTenant("bulk", async () => {
        await products.create({ sku: "TAKEN-1", title: "Taken", slug: "taken-slug" });
        const result = await products.bulkUpsert([
          { sku: "BULK-1", title: "First" },
          { sku: "bad sku with spaces", title: "Bad" },
          { sku: "BULK-2", title: "Second", slug: "taken-slug" },
          { sku: "BULK-3", title: "Third", price: { amountMinor: 999, currency: "USD" } },
          { sku: "BULK-1", title: "First again" },
        ]);
        expect(result.inserted).toBe(2);
        expect(result.updated).toBe(1);
        expect(result.failed.map((row) => [row.index, row.code])).toEqual([
          [1, "VALIDATION_FAILED"],
          [2, "DUPLICATE_KEY"],
        ]);
        expect((await products.getBySku("BULK-1"))?.title, "a repeated SKU is applied after the earlier row").toBe("First again");
        expect(await products.getBySku("BULK-2")).toBeNull();

        const again = await products.bulkUpsert([{ sku: "BULK-3", title: "Third", price: { amountMinor: 999, currency: "USD" } }]);
        expect(again).toEqual({ inserted: 0, updated: 1, failed: [] });
        expect((await products.getBySku("BULK-3"))?.version, "an unchanged row keeps its version").toBe(1);
      });
    });
  });

  describe("bulk writes", () => {
    it("150 changed rows go in several commands", async () => {
      const products = integration.modules.data.datastore.products;
      const rows = (title: string) => Array.from({ length: 150 }, (_, n) => ({ sku: `MANY-${n}`, title: `${title} ${n}` }));
      await runWithTenant("many", async () => {
        expect(await products.bulkUpsert(rows("First"))).toEqual({ inserted: 150, updated: 0, failed: [] });
        // FerretDB 1.24 never responds to an update command of 100 statements, so this hangs unless the replaces are split.
        expect(await products.bulkUpsert(rows("Second"))).toEqual({ inserted: 0, updated: 150, failed: [] });
        expect((await products.getBySku("MANY-149"))?.title).toBe("Second 149");
        expect((await products.getBySku("MANY-149"))?.version).toBe(2);
      });
    });
  });

  describe("reservations", () => {
    it("a failed line undoes the earlier ones and leaves nothing behind", async () => {
      const { inventory } = integration.modules.data;
      await runWithTenant("undo", async () => {
        await inventory.upsertWarehouse({ id: "wh-1", name: "Main" });
        await inventory.setStock("PHONE", "wh-1", 5);
        await inventory.setStock("CASE", "wh-1", 1);

        const error = await rejection(
          inventory.reserve({
            lines: [
              { sku: "PHONE", quantity: 2 },
              { sku: "CASE", quantity: 3 },
            ],
          }),
        );
        expect(isBridgeError(error, "INSUFFICIENT_STOCK")).toBe(true);
        expect((error as Error).message).toContain("CASE");

        expect(await inventory.getStock("PHONE", "wh-1")).toMatchObject({ onHand: 5, reserved: 0, available: 5 });
        expect(await raw.db(database).collection("reservations").countDocuments({ tenantId: "undo" })).toBe(0);
        expect((await inventory.movements("PHONE")).map((movement) => movement.kind)).toEqual(["set"]);
      });
    });

    it("a reservation left half-applied by a dead process is released at expiry", async () => {
      const { inventory } = integration.modules.data;
      await runWithTenant("crash", async () => {
        await inventory.upsertWarehouse({ id: "wh-1", name: "Main" });
        await inventory.setStock("PHONE", "wh-1", 5);
        // What a process leaves when it dies after reserving the first of two lines.
        const reservation = await inventory.reserve({ lines: [{ sku: "PHONE", quantity: 2 }] });
        const now = Date.now();
        await raw
          .db(database)
          .collection("reservations")
          .updateOne(
            { _id: docKey("crash", reservation.id) as never },
            { $set: { status: "pending", pendingUntil: new Date(now + 60_000).toISOString(), expiresAt: new Date(now + 1_000).toISOString() } },
          );

        expect(await inventory.getReservation(reservation.id), "a pending reservation is not visible").toBeNull();
        expect(await inventory.expireReservations(new Date(now + 30_000)), "the creator may still be running").toBe(0);
        expect(await inventory.expireReservations(new Date(now + 120_000))).toBe(1);
        expect(await inventory.getStock("PHONE", "wh-1")).toMatchObject({ onHand: 5, reserved: 0, available: 5 });
      });
    });
  });

  describe("document locks", () => {
    it("are on for servers that do not update atomically", async () => {
      const connected = logger.lines.find((line) => line.message === "connected to MongoDB");
      expect(connected?.fields?.documentLocks).toBe(!integration.capabilities.atomicUpdates);
      expect((await integration.health()).detail?.documentLocks).toBe(!integration.capabilities.atomicUpdates);
    });

    it("an expired lock of a dead writer is taken over", async () => {
      const { inventory } = integration.modules.data;
      await runWithTenant("locks", async () => {
        await inventory.upsertWarehouse({ id: "wh-1", name: "Main" });
        await inventory.setStock("PHONE", "wh-1", 5);
      });
      const lock = `inventory/${docKey("locks", "PHONE", "wh-1")}`;
      await raw
        .db(database)
        .collection("bridge_locks")
        .insertOne({ _id: lock as never, token: "dead-writer", expiresAt: new Date(Date.now() - 1_000) });

      const level = await runWithTenant("locks", () => inventory.adjustStock("PHONE", "wh-1", 1));
      expect(level.onHand).toBe(6);
      if (integration.capabilities.atomicUpdates) return;
      expect(logger.lines.some((line) => line.message === "taking over an expired document lock" && line.fields?.lock === lock)).toBe(true);
    });

    it("a held lock makes writers time out", async (context) => {
      if (integration.capabilities.atomicUpdates) context.skip("the server updates atomically, so writes take no document locks");
      const { inventory } = integration.modules.data;
      const lock = `inventory/${docKey("locks", "PHONE", "wh-1")}`;
      await raw
        .db(database)
        .collection("bridge_locks")
        .insertOne({ _id: lock as never, token: "slow-writer", expiresAt: new Date(Date.now() + 60_000) });
      try {
        const error = await rejection(runWithTenant("locks", () => inventory.adjustStock("PHONE", "wh-1", 1)));
        expect(isBridgeError(error, "TIMEOUT")).toBe(true);
        expect((error as Error).message).toContain(lock);
      } finally {
        await raw.db(database).collection("bridge_locks").deleteOne({ _id: lock as never });
      }
      expect((await runWithTenant("locks", () => inventory.getStock("PHONE", "wh-1")))?.onHand).toBe(6);
    });
  });

  describe("logs", () => {
    const entry = (id: string, level: LogEntry["level"], message: string, timestamp: Date, workerId?: string): LogEntry => ({
      id,
      level,
      message,
      timestamp: timestamp.toISOString(),
      tenantId: "logs",
      ...(workerId ? { workerId } : {}),
    });

    it("a batch sent twice is stored once; errors also go to error_logs", async () => {
      const sink = integration.modules.logs;
      const now = new Date();
      const batch = [entry("dup-1", "info", "started", now), entry("dup-2", "error", "payment failed", now, "worker-9")];
      await sink.write(batch);
      await sink.write(batch);

      expect(await raw.db(database).collection("logs").countDocuments({ _id: { $in: ["dup-1", "dup-2"] } as never })).toBe(2);
      expect(await raw.db(database).collection("error_logs").countDocuments({ _id: { $in: ["dup-1", "dup-2"] } as never })).toBe(1);
      const found = await sink.query!({ workerId: "worker-9", text: "PAYMENT" });
      expect(found.map((item) => item.id)).toEqual(["dup-2"]);
      expect(found[0]?.timestamp).toBe(now.toISOString());
    });

    it("query text is literal", async () => {
      const sink = integration.modules.logs;
      await sink.write([entry("lit-1", "warn", "retry 1.5s later", new Date()), entry("lit-2", "warn", "retry 105s later", new Date())]);
      expect((await sink.query!({ tenantId: "logs", text: "1.5s" })).map((item) => item.id)).toEqual(["lit-1"]);
      expect(await sink.query!({ tenantId: "logs", text: ".*" })).toEqual([]);
    });

    it("cleanup deletes entries older than the TTL", async () => {
      const sink = integration.modules.logs;
      const now = new Date();
      const old = new Date(now.getTime() - 15 * 86_400_000);
      await sink.write([entry("old-1", "error", "ancient failure", old), entry("new-1", "error", "fresh failure", now)]);

      const deleted = await sink.cleanup(now);
      expect(deleted).toBeGreaterThanOrEqual(2);
      const ids = (await sink.query!({ tenantId: "logs", limit: 1000 })).map((item) => item.id);
      expect(ids).toContain("new-1");
      expect(ids).not.toContain("old-1");
      expect(await raw.db(database).collection("error_logs").countDocuments({ _id: "old-1" as never })).toBe(0);
    });

    it("without TTL indexes the cleanup runs on its own", async (context) => {
      if (integration.capabilities.ttlIndexes) context.skip("the server has TTL indexes, so no cleanup runs");
      const cleaner = await startIntegration(mongodb({ uri: service.url, database, logsCleanupIntervalMs: 50 }));
      try {
        await cleaner.modules.logs.write([entry("auto-old", "info", "old entry", new Date(Date.now() - 20 * 86_400_000))]);
        await vi.waitFor(async () => expect(await raw.db(database).collection("logs").countDocuments({ _id: "auto-old" as never })).toBe(0), {
          timeout: 5_000,
          interval: 50,
        });
      } finally {
        await cleaner.stop({ deadlineMs: 5_000 });
      }
    });
  });

  describe("persistence", () => {
    it("data written before a stop is read by the next start", async () => {
      const first = await startIntegration(mongodb({ uri: service.url, database }));
      await runWithTenant("persist", async () => {
        await first.modules.data.datastore.products.bulkUpsert([
          { sku: "P-1", title: "Phone" },
          { sku: "P-2", title: "Case" },
        ]);
        await first.modules.data.inventory.upsertWarehouse({ id: "wh-1", name: "Main" });
        await first.modules.data.inventory.setStock("P-1", "wh-1", 7);
        await first.modules.data.engagements.create({ id: "order-9", customerId: "customer-1", type: "order" });
      });
      await first.stop({ deadlineMs: 5_000 });

      const second = await startIntegration(mongodb({ uri: service.url, database }));
      try {
        await runWithTenant("persist", async () => {
          expect(await second.modules.data.datastore.products.count()).toBe(2);
          expect((await second.modules.data.inventory.getStock("P-1", "wh-1"))?.onHand).toBe(7);
          expect((await second.modules.data.engagements.history("order-9")).map((event) => event.type)).toEqual(["created"]);
        });
      } finally {
        await second.stop({ deadlineMs: 5_000 });
      }
    });
  });

  describe("server loss", () => {
    let proxy: TcpProxy;
    let viaProxy: MongoIntegration;

    beforeAll(async () => {
      const target = new URL(service.url.replace(/^mongodb:/, "http:"));
      proxy = await TcpProxy.start(target.hostname, Number(target.port || 27017));
      viaProxy = await startIntegration(
        mongodb({ uri: `mongodb://127.0.0.1:${proxy.port}/?directConnection=true`, database, serverSelectionTimeoutMs: 300, connectTimeoutMs: 300 }),
      );
    });

    afterAll(async () => {
      await viaProxy.stop({ deadlineMs: 2_000 });
      await proxy.close();
    });

    it("reads fail with UnavailableError, health goes down, then the driver reconnects", async () => {
      const products = viaProxy.modules.data.datastore.products;
      await runWithTenant("loss", () => products.create({ sku: "LOSS-1", title: "Before the outage" }));

      await proxy.pause();
      const error = await rejection(runWithTenant("loss", () => products.getBySku("LOSS-1")));
      expect(isBridgeError(error, "UNAVAILABLE")).toBe(true);
      expect((error as { retryable: boolean }).retryable).toBe(true);
      expect((await viaProxy.health()).status).toBe("down");

      await proxy.resume();
      await vi.waitFor(async () => expect((await runWithTenant("loss", () => products.getBySku("LOSS-1")))?.title).toBe("Before the outage"), {
        timeout: 10_000,
        interval: 100,
      });
      expect((await viaProxy.health()).status).toBe("up");
    });
  });
});

/** A TCP forwarder on 127.0.0.1 that can drop every connection and refuse new ones, standing in for a server outage. */
class TcpProxy {
  #server: Server | null = null;
  readonly #sockets = new Set<Socket>();

  private constructor(
    readonly port: number,
    private readonly targetHost: string,
    private readonly targetPort: number,
  ) {}

  static async start(targetHost: string, targetPort: number): Promise<TcpProxy> {
    const probe = createServer();
    await new Promise<void>((resolve) => probe.listen(0, "127.0.0.1", resolve));
    const { port } = probe.address() as { port: number };
    await new Promise<void>((resolve) => probe.close(() => resolve()));
    const proxy = new TcpProxy(port, targetHost, targetPort);
    await proxy.resume();
    return proxy;
  }

  async resume(): Promise<void> {
    const server = createServer((client) => {
      const upstream = new Socket();
      this.#sockets.add(client).add(upstream);
      const drop = () => {
        client.destroy();
        upstream.destroy();
        this.#sockets.delete(client);
        this.#sockets.delete(upstream);
      };
      client.on("error", drop).on("close", drop);
      upstream.on("error", drop).on("close", drop);
      upstream.connect(this.targetPort, this.targetHost, () => {
        client.pipe(upstream);
        upstream.pipe(client);
      });
    });
    await new Promise<void>((resolve) => server.listen(this.port, "127.0.0.1", resolve));
    this.#server = server;
  }

  /** Stops listening and drops every open connection. */
  async pause(): Promise<void> {
    const server = this.#server;
    this.#server = null;
    for (const socket of this.#sockets) socket.destroy();
    this.#sockets.clear();
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  close(): Promise<void> {
    return this.pause();
  }
}
