import { expect, it } from "vitest";
import { expectBridgeError } from "../../harness.js";
import { uniqueIds, walkPages, type DataCaseContext } from "./context.js";

const REGISTRATION = {
  workerType: "order-placer",
  communityId: "eu-west",
  hostname: "worker-1.internal",
  pid: 4242,
  tasks: ["order.place", "order.confirm"],
};

const VITALS = { rssBytes: 80_000_000, heapUsedBytes: 40_000_000, inFlight: 2, processed: 120, failed: 1 };

export function registerWorkerCases({ start }: DataCaseContext): void {
  it("register and heartbeat", async () => {
    const { data, asA, tenantA } = await start();
    await asA(async () => {
      const worker = await data.workers.register(REGISTRATION);
      expect(worker).toMatchObject({ ...REGISTRATION, tenantId: tenantA, version: 1 });
      expect(Number.isNaN(Date.parse(worker.lastCallHome))).toBe(false);

      const beat = await data.workers.heartbeat(worker.id, VITALS);
      expect(beat.status).toBe("running");
      expect(Date.parse(beat.lastCallHome)).toBeGreaterThanOrEqual(Date.parse(worker.lastCallHome));
      const vitals = await data.workers.vitals(worker.id);
      expect(vitals).toHaveLength(1);
      expect(vitals[0]).toMatchObject({ ...VITALS, workerId: worker.id, tenantId: tenantA });
      expect(await data.workers.get(worker.id)).toEqual(beat);
    });
  });

  it("discover filters workers", async () => {
    const { data, asA } = await start();
    await asA(async () => {
      for (let n = 0; n < 5; n++) await data.workers.register({ ...REGISTRATION, hostname: `placer-${n}` });
      await data.workers.register({ ...REGISTRATION, workerType: "mailer", hostname: "mailer-0" });

      const placers = await walkPages(2, (page) => data.workers.discover({ workerType: "order-placer", ...page }));
      expect(uniqueIds(placers)).toHaveLength(5);
      for (const worker of placers) expect(worker.workerType).toBe("order-placer");
      expect((await data.workers.discover({ communityId: "us-east" })).items).toEqual([]);
    });
  });

  it("stale workers are marked", async () => {
    const { data, asA } = await start();
    await asA(async () => {
      const worker = await data.workers.register(REGISTRATION);
      const lastCallHome = Date.parse(worker.lastCallHome);
      expect(await data.workers.markStale(60_000, new Date(lastCallHome + 30_000))).toEqual([]);

      const stale = await data.workers.markStale(60_000, new Date(lastCallHome + 120_000));
      expect(stale.map((record) => record.id)).toEqual([worker.id]);
      expect((await data.workers.get(worker.id))?.status).toBe("stale");
      expect((await data.workers.discover({ status: "stale" })).items.map((record) => record.id)).toEqual([worker.id]);
    });
  });

  it("status changes are stored", async () => {
    const { data, asA } = await start();
    await asA(async () => {
      const worker = await data.workers.register(REGISTRATION);
      const draining = await data.workers.setStatus(worker.id, "draining");
      expect(draining.status).toBe("draining");
      expect(draining.version).toBe(worker.version + 1);
      await expectBridgeError(data.workers.setStatus(worker.id, "sleeping" as never), "VALIDATION_FAILED", ["sleeping"]);
    });
  });

  it("invalid worker input is rejected", async () => {
    const { data, asA } = await start();
    await asA(async () => {
      await expectBridgeError(data.workers.register({ ...REGISTRATION, workerType: "" }), "VALIDATION_FAILED");
      await expectBridgeError(data.workers.register({ ...REGISTRATION, pid: -1 }), "VALIDATION_FAILED");
      await expectBridgeError(data.workers.heartbeat("no-such-worker", VITALS), "NOT_FOUND", ["no-such-worker"]);
      await expectBridgeError(data.workers.discover({ workerType: { $ne: null } as never }), ["INVALID_FILTER", "VALIDATION_FAILED"]);
    });
  });

  it("tenants are isolated", async () => {
    const { data, asA, asB } = await start();
    const worker = await asA(() => data.workers.register(REGISTRATION));
    await asB(async () => {
      expect(await data.workers.get(worker.id)).toBeNull();
      expect((await data.workers.discover({})).items).toEqual([]);
      await expectBridgeError(data.workers.heartbeat(worker.id, VITALS), "NOT_FOUND");
      expect(await data.workers.markStale(1, new Date(Date.now() + 3_600_000))).toEqual([]);
    });
    await asA(async () => {
      expect((await data.workers.get(worker.id))?.status).toBe(worker.status);
    });
  });
}
