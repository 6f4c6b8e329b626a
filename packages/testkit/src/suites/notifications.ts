import {
  runWithTenant,
  type Notification,
  type NotificationsCapabilities,
  type NotificationsRole,
} from "@bridge/core";
import { afterEach, expect, it } from "vitest";
import { describeConformance, eventually, expectBridgeError, InstanceTracker, newNamespace, resolveTimeouts, sleep, type CaseTimeoutOptions } from "../harness.js";

export interface NotificationsInstance {
  notifications: NotificationsRole;
  /** Deletes what the instance created (exchanges, topics, consumer groups). */
  cleanup?: () => Promise<void>;
}

export interface NotificationsSuiteOptions extends CaseTimeoutOptions {
  /** One word that names the provider in test titles and in the conformance report. */
  provider: string;
  capabilities: NotificationsCapabilities;
  /**
   * Creates an instance isolated by `namespace`. The kit also starts every
   * routing key with the namespace, so a shared exchange works too.
   */
  create: (namespace: string) => Promise<NotificationsInstance>;
  /** Maximum wait for asynchronous delivery in each check, in ms; 5000 when absent. */
  timeoutMs?: number;
  /**
   * Time to wait after subscribing before publishing, in ms; 0 when absent.
   * Brokers that bind subscriptions asynchronously need a little.
   */
  subscribeSettleMs?: number;
  /**
   * Time a case waits to be sure that nothing more arrives, in ms; 200 when
   * absent. It bounds the "not delivered" checks, never a speed.
   */
  quietMs?: number;
}

/** Registers the notifications conformance cases. Call it at the top level of a vitest test file. */
export function runNotificationsSuite(options: NotificationsSuiteOptions): void {
  const declared = options.capabilities;
  const { timeoutMs, caseTimeoutMs } = resolveTimeouts(options);
  const quietMs = options.quietMs ?? 200;
  const tracker = new InstanceTracker<NotificationsInstance>();

  async function start(): Promise<{ notifications: NotificationsRole; namespace: string }> {
    const namespace = newNamespace();
    const instance = tracker.track(await options.create(namespace));
    return { notifications: instance.notifications, namespace };
  }

  async function settle(): Promise<void> {
    if (options.subscribeSettleMs) await sleep(options.subscribeSettleMs);
  }

  /** Subscribes and collects every notification's routing key. */
  async function collect(notifications: NotificationsRole, pattern: string, group?: string): Promise<Notification[]> {
    const received: Notification[] = [];
    await notifications.subscribe(pattern, (notification) => {
      received.push(notification);
    }, group === undefined ? undefined : { group });
    return received;
  }

  const typesOf = (received: Notification[]) => received.map((notification) => notification.type).sort();

  describeConformance({ role: "notifications", provider: options.provider, capabilities: declared }, () => {
    afterEach(async () => {
      for (const instance of tracker.drain()) {
        await instance.notifications.close();
        await instance.cleanup?.();
      }
    });

    it("declares its capabilities", async () => {
      const { notifications } = await start();
      expect(notifications.capabilities, "notifications.capabilities must equal what the provider declares to the kit").toEqual(declared);
    });

    it("exact routing key matches", async () => {
      const { notifications, namespace } = await start();
      const received = await collect(notifications, `${namespace}.order.confirmed`);
      await settle();

      const tenant = `${namespace}-a`;
      const sent = await runWithTenant(tenant, () =>
        notifications.publish(`${namespace}.order.confirmed`, { engagementId: "eng-1" }, { correlationId: "corr-1" }),
      );
      await notifications.publish(`${namespace}.order.cancelled`, { engagementId: "eng-2" });
      expect(sent.type).toBe(`${namespace}.order.confirmed`);
      expect(sent.tenantId).toBe(tenant);
      expect(sent.id).toMatch(/\S/);
      expect(Number.isNaN(Date.parse(sent.occurredAt))).toBe(false);

      await eventually(() => expect(received).toHaveLength(1), { timeoutMs });
      await sleep(quietMs);
      expect(received).toHaveLength(1);
      const notification = received[0]!;
      expect(notification.id).toBe(sent.id);
      expect(notification.payload).toEqual({ engagementId: "eng-1" });
      expect(notification.tenantId).toBe(tenant);
      expect(notification.correlationId).toBe("corr-1");
    });

    it("star matches exactly one word", async () => {
      const { notifications, namespace } = await start();
      const received = await collect(notifications, `${namespace}.order.*`);
      await settle();

      for (const type of ["order.confirmed", "order.cancelled", "order", "order.line.added", "quote.confirmed"]) {
        await notifications.publish(`${namespace}.${type}`, { type });
      }

      const expected = [`${namespace}.order.cancelled`, `${namespace}.order.confirmed`];
      await eventually(() => expect(typesOf(received)).toEqual(expected), { timeoutMs });
      await sleep(quietMs);
      expect(typesOf(received)).toEqual(expected);
    });

    it("hash matches zero or more words", async () => {
      const { notifications, namespace } = await start();
      const received = await collect(notifications, `${namespace}.order.#`);
      await settle();

      for (const type of ["order", "order.confirmed", "order.line.added", "quote.confirmed", "orders.confirmed"]) {
        await notifications.publish(`${namespace}.${type}`, { type });
      }

      const expected = [`${namespace}.order`, `${namespace}.order.confirmed`, `${namespace}.order.line.added`];
      await eventually(() => expect(typesOf(received)).toEqual(expected), { timeoutMs });
      await sleep(quietMs);
      expect(typesOf(received)).toEqual(expected);
    });

    it("broadcast reaches every subscriber", async () => {
      const { notifications, namespace } = await start();
      const first = await collect(notifications, `${namespace}.stock.#`);
      const second = await collect(notifications, `${namespace}.stock.changed`);
      await settle();

      await notifications.publish(`${namespace}.stock.changed`, { sku: "4984700", available: 3 });
      await eventually(() => {
        expect(first).toHaveLength(1);
        expect(second).toHaveLength(1);
      }, { timeoutMs });
      expect(first[0]!.payload).toEqual({ sku: "4984700", available: 3 });
      expect(second[0]!.id).toBe(first[0]!.id);
    });

    it("closed subscription receives nothing", async () => {
      const { notifications, namespace } = await start();
      const received: Notification[] = [];
      const subscription = await notifications.subscribe(`${namespace}.order.*`, (notification) => {
        received.push(notification);
      });
      expect(subscription.pattern).toBe(`${namespace}.order.*`);
      const control = await collect(notifications, `${namespace}.order.*`);
      await settle();

      await subscription.close();
      await notifications.publish(`${namespace}.order.confirmed`, {});
      await eventually(() => expect(control).toHaveLength(1), { timeoutMs });
      await sleep(quietMs);
      expect(received).toEqual([]);
    });

    it("throwing handler does not stop delivery", async () => {
      const { notifications, namespace } = await start();
      let calls = 0;
      await notifications.subscribe(`${namespace}.order.*`, () => {
        calls += 1;
        throw new Error("handler bug");
      });
      const healthy = await collect(notifications, `${namespace}.order.*`);
      await settle();

      await notifications.publish(`${namespace}.order.confirmed`, { n: 1 });
      await notifications.publish(`${namespace}.order.confirmed`, { n: 2 });
      await eventually(() => {
        expect(healthy).toHaveLength(2);
        expect(calls).toBeGreaterThanOrEqual(2);
      }, { timeoutMs });
    });

    it("rejects invalid routing keys and patterns", async () => {
      const { notifications, namespace } = await start();
      const noop = () => undefined;
      await expectBridgeError(notifications.publish("", {}), "VALIDATION_FAILED");
      await expectBridgeError(notifications.publish(`${namespace}.order.*`, {}), "VALIDATION_FAILED", [`${namespace}.order.*`]);
      await expectBridgeError(notifications.publish(`${namespace}..order`, {}), "VALIDATION_FAILED", [`${namespace}..order`]);
      await expectBridgeError(notifications.subscribe("", noop), "VALIDATION_FAILED");
      await expectBridgeError(notifications.subscribe(`${namespace}.ord*r`, noop), "VALIDATION_FAILED", [`${namespace}.ord*r`]);
    });

    it.runIf(declared.groups)("group members compete for each notification", async () => {
      const { notifications, namespace } = await start();
      const first = await collect(notifications, `${namespace}.order.*`, "billing");
      const second = await collect(notifications, `${namespace}.order.*`, "billing");
      const audit = await collect(notifications, `${namespace}.order.*`, "audit");
      await settle();

      const total = 20;
      for (let n = 0; n < total; n++) {
        await notifications.publish(`${namespace}.order.confirmed`, { n });
      }

      await eventually(() => {
        expect(first.length + second.length).toBe(total);
        expect(audit).toHaveLength(total);
      }, { timeoutMs });
      await sleep(quietMs);
      const ids = [...first, ...second].map((notification) => notification.id);
      expect(new Set(ids).size, "each notification reaches one member of the group").toBe(total);
      expect(ids).toHaveLength(total);
    });

    it.runIf(declared.replay)("replay delivers earlier notifications", async () => {
      const { notifications, namespace } = await start();
      const from = new Date(Date.now() - 1_000);
      for (let n = 0; n < 3; n++) {
        await notifications.publish(`${namespace}.order.confirmed`, { n });
      }

      const received: Notification[] = [];
      await notifications.subscribe(`${namespace}.order.*`, (notification) => {
        received.push(notification);
      }, { from });
      await eventually(() => {
        expect(received.map((notification) => notification.payload)).toEqual([{ n: 0 }, { n: 1 }, { n: 2 }]);
      }, { timeoutMs });
    });
  }, { caseTimeoutMs });
}
