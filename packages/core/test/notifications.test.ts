import { afterEach, describe, expect, it } from "vitest";
import {
  createMemoryNotifications,
  matchesRoutingPattern,
  validateRoutingKey,
  validateRoutingPattern,
  type MemoryNotifications,
} from "../src/embedded/notifications.js";
import { isBridgeError, ValidationError } from "../src/errors.js";
import type { Logger } from "../src/roles/logs.js";
import type { Notification } from "../src/roles/notifications.js";
import { currentTraceparent, withSpan } from "../src/telemetry.js";
import { currentContext, runWithTenant } from "../src/tenant.js";

interface LogLine {
  level: string;
  message: string;
  fields: Record<string, unknown>;
}

function recordingLogger(lines: LogLine[]): Logger {
  const write =
    (level: string) =>
    (message: string, fields: Record<string, unknown> = {}) => {
      lines.push({ level, message, fields });
    };
  const logger: Logger = {
    trace: write("trace"),
    debug: write("debug"),
    info: write("info"),
    warn: write("warn"),
    error: write("error"),
    fatal: write("fatal"),
    child: () => logger,
  };
  return logger;
}

const roles: MemoryNotifications[] = [];

function setup() {
  const lines: LogLine[] = [];
  const notifications = createMemoryNotifications({ logger: recordingLogger(lines) });
  roles.push(notifications);
  return { notifications, lines };
}

afterEach(async () => {
  await Promise.all(roles.splice(0).map((role) => role.close()));
});

describe("matchesRoutingPattern", () => {
  it.each<[string, string, boolean]>([
    ["order.*", "order.created", true],
    ["order.*", "order.line.added", false],
    ["order.*", "order", false],
    ["order.*", "customer.created", false],
    ["order.#", "order", true],
    ["order.#", "order.created", true],
    ["order.#", "order.line.added", true],
    ["order.#", "orders.created", false],
    ["#", "order", true],
    ["#", "order.line.added", true],
    ["*.created", "order.created", true],
    ["*.created", "created", false],
    ["*.created", "order.line.created", false],
    ["*.created", "order.updated", false],
    ["a.#.z", "a.z", true],
    ["a.#.z", "a.b.z", true],
    ["a.#.z", "a.b.c.d.z", true],
    ["a.#.z", "a.b.c", false],
    ["a.#.z", "b.a.z", false],
    ["a.#.z", "a.z.y", false],
    ["#.z", "z", true],
    ["#.#", "a", true],
    ["*.#.*", "a", false],
    ["*.#.*", "a.b", true],
    ["order.created", "order.created", true],
    ["order.created", "Order.created", false],
  ])("%s against %s is %s", (pattern, key, expected) => {
    expect(matchesRoutingPattern(pattern, key)).toBe(expected);
  });
});

describe("routing validation", () => {
  it.each([
    ["", "it is empty"],
    ["order..created", "word 2 is empty"],
    [".order", "word 1 is empty"],
    ["order.", "word 2 is empty"],
    ["order.cre ated", 'word 2 ("cre ated") contains characters'],
    ["order.cre*", 'word 2 ("cre*") contains characters'],
    ["order/created", "contains characters"],
    ["a".repeat(256), "longer than 255 bytes"],
  ])("rejects pattern %j", (pattern, problem) => {
    expect(() => validateRoutingPattern(pattern)).toThrow(ValidationError);
    expect(() => validateRoutingPattern(pattern)).toThrow(problem);
  });

  it("accepts wildcards in patterns but not in routing keys", () => {
    expect(() => validateRoutingPattern("order.*.#")).not.toThrow();
    expect(() => validateRoutingKey("order.*")).toThrow(/Invalid notification type "order.\*"/);
  });
});

describe("embedded notifications", () => {
  it("delivers to every matching subscriber without a group", async () => {
    const { notifications } = setup();
    const received: Record<string, string[]> = { wildcard: [], exact: [], other: [] };
    await notifications.subscribe("order.*", (n) => void received["wildcard"]!.push(n.type));
    await notifications.subscribe("order.confirmed", (n) => void received["exact"]!.push(n.type));
    await notifications.subscribe("customer.#", (n) => void received["other"]!.push(n.type));

    await notifications.publish("order.confirmed", { engagementId: "e-1" });
    await notifications.publish("order.cancelled", { engagementId: "e-2" });
    await notifications.flush();

    expect(received["wildcard"]).toEqual(["order.confirmed", "order.cancelled"]);
    expect(received["exact"]).toEqual(["order.confirmed"]);
    expect(received["other"]).toEqual([]);
  });

  it("builds the notification from the context", async () => {
    const { notifications } = setup();
    const published = await runWithTenant({ tenantId: "tenant-a", correlationId: "req-7" }, () =>
      notifications.publish("order.confirmed", { total: { amountMinor: 1299, currency: "USD" } }),
    );

    expect(published.tenantId).toBe("tenant-a");
    expect(published.correlationId).toBe("req-7");
    expect(published.id).toMatch(/^[0-9a-f-]{36}$/);
    expect(Number.isNaN(Date.parse(published.occurredAt))).toBe(false);
  });

  it("runs handlers in the notification's tenant", async () => {
    const { notifications } = setup();
    const seen: Array<{ tenant: string; correlation: string | undefined }> = [];
    await notifications.subscribe("order.#", () => {
      const context = currentContext();
      seen.push({ tenant: context.tenantId, correlation: context.correlationId });
    });

    await runWithTenant("tenant-a", () => notifications.publish("order.confirmed", {}, { correlationId: "c-1" }));
    await notifications.publish("order.confirmed", {}, { tenantId: "tenant-b" });
    await notifications.flush();

    expect(seen).toEqual([
      { tenant: "tenant-a", correlation: "c-1" },
      { tenant: "tenant-b", correlation: undefined },
    ]);
  });

  it("spreads a group's notifications over its members in turn", async () => {
    const { notifications } = setup();
    const byMember: Record<string, number[]> = { a: [], b: [], c: [] };
    for (const member of ["a", "b", "c"]) {
      await notifications.subscribe<number>("order.*", (n) => void byMember[member]!.push(n.payload), { group: "billing" });
    }
    const audit: number[] = [];
    await notifications.subscribe<number>("order.*", (n) => void audit.push(n.payload));

    for (let index = 0; index < 9; index += 1) {
      await notifications.publish("order.confirmed", index);
    }
    await notifications.flush();

    expect(byMember["a"]).toEqual([0, 3, 6]);
    expect(byMember["b"]).toEqual([1, 4, 7]);
    expect(byMember["c"]).toEqual([2, 5, 8]);
    expect(audit).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8]);
  });

  it("logs a failing handler and keeps delivering", async () => {
    const { notifications, lines } = setup();
    const received: string[] = [];
    await notifications.subscribe("order.*", (n) => {
      if (n.type === "order.cancelled") throw new Error("mailer offline");
      received.push(n.type);
    });

    const cancelled = await notifications.publish("order.cancelled", {});
    await notifications.publish("order.confirmed", {});
    await notifications.flush();

    expect(received).toEqual(["order.confirmed"]);
    const [line] = lines.filter((entry) => entry.level === "error");
    expect(line?.message).toContain(`failed on order.cancelled ${cancelled.id}`);
    expect((line?.fields["err"] as Error).message).toBe("mailer offline");
    expect(line?.fields["pattern"]).toBe("order.*");
  });

  it("gives each subscriber its own copy of the payload", async () => {
    const { notifications } = setup();
    const seen: unknown[] = [];
    await notifications.subscribe<{ lines: string[] }>("order.*", (n) => {
      n.payload.lines.push("mutated");
    });
    await notifications.subscribe<{ lines: string[] }>("order.*", (n) => void seen.push(n.payload));

    const payload = { lines: ["SKU-1"] };
    await notifications.publish("order.confirmed", payload);
    payload.lines.push("after publish");
    await notifications.flush();

    expect(seen).toEqual([{ lines: ["SKU-1"] }]);
  });

  it("stops delivering after a subscription closes", async () => {
    const { notifications } = setup();
    const received: string[] = [];
    const subscription = await notifications.subscribe("order.*", (n) => void received.push(n.type));
    expect(subscription.pattern).toBe("order.*");

    await notifications.publish("order.confirmed", {});
    await notifications.flush();
    await subscription.close();
    await notifications.publish("order.cancelled", {});
    await notifications.flush();

    expect(received).toEqual(["order.confirmed"]);
  });

  it("carries the publisher's trace to the handler", async () => {
    const { notifications } = setup();
    let seen: string | undefined;
    await notifications.subscribe("order.*", () => {
      seen = currentTraceparent();
    });
    const parent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

    const published = await withSpan("confirm", {}, () => notifications.publish("order.confirmed", {}), { parent });
    await notifications.flush();

    expect(published.traceparent).toBe(parent);
    expect(seen?.split("-")[1]).toBe("4bf92f3577b34da6a3ce929d0e0e4736");
  });

  it("rejects bad input", async () => {
    const { notifications } = setup();
    await expect(notifications.publish("order..confirmed", {})).rejects.toThrow(/word 2 is empty/);
    await expect(notifications.publish("order.*", {})).rejects.toThrow(ValidationError);
    await expect(notifications.publish("order.confirmed", undefined)).rejects.toThrow(/pass null or a JSON value/);
    await expect(notifications.publish("order.confirmed", { big: 10n })).rejects.toThrow(/cannot be serialized/);
    await expect(notifications.publish("order.confirmed", {}, { tenantId: "" })).rejects.toThrow(/Invalid tenantId/);
    await expect(notifications.subscribe("order.#x", () => undefined)).rejects.toThrow(/Invalid routing pattern/);
    await expect(notifications.subscribe("order.*", () => undefined, { group: "bad group" })).rejects.toThrow(/Invalid group "bad group"/);
    await expect(notifications.subscribe("order.*", "nope" as unknown as () => void)).rejects.toThrow(/pass a function/);
  });

  it("reports that replay is not supported", async () => {
    const { notifications } = setup();
    const error = await notifications
      .subscribe("order.*", () => undefined, { from: "2025-01-01T00:00:00Z" })
      .catch((caught: unknown) => caught);

    expect(isBridgeError(error, "NOT_SUPPORTED")).toBe(true);
    expect((error as Error).message).toContain("keeps no history");
    expect(notifications.capabilities.replay).toBe(false);
  });

  it("finishes queued deliveries on close and rejects later calls", async () => {
    const { notifications } = setup();
    const received: Notification[] = [];
    await notifications.subscribe("order.*", async (n) => {
      await new Promise((resolve) => setTimeout(resolve, 5));
      received.push(n);
    });
    await notifications.publish("order.confirmed", 1);
    await notifications.publish("order.confirmed", 2);

    await notifications.close();
    expect(received.map((n) => n.payload)).toEqual([1, 2]);
    await expect(notifications.publish("order.confirmed", 3)).rejects.toMatchObject({ code: "CLOSED" });
    await expect(notifications.subscribe("order.*", () => undefined)).rejects.toMatchObject({ code: "CLOSED" });
  });
});
