import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { isBridgeError } from "@bridge/core";
import { describe, expect, it } from "vitest";
import { envSchema, optionsFromEnv } from "../src/env.js";
import { maskUrl, resolveOptions } from "../src/options.js";
import { pickDelayLevel, taskQueueNames } from "../src/topology.js";

function configError(action: () => unknown): Error {
  try {
    action();
  } catch (error) {
    expect(isBridgeError(error, "CONFIG_INVALID"), `expected CONFIG_INVALID, got ${String(error)}`).toBe(true);
    return error as Error;
  }
  return expect.fail("expected a CONFIG_INVALID error, but the call returned");
}

describe("resolveOptions", () => {
  it("builds the URL from host parts", () => {
    const resolved = resolveOptions({ host: "::1", port: 5673, username: "shop", password: "p@ss:word", vhost: "/" });
    expect(resolved.url).toBe("amqp://shop:p%40ss%3Aword@[::1]:5673/%2F");
    expect(resolved.maskedUrl).toBe("amqp://shop:****@[::1]:5673/%2F");
    expect(resolved.queuePrefix).toBe("bridge");
    expect(resolved.prefetchCount).toBe(20);
  });

  it("uses amqps and port 5671 with TLS", () => {
    const resolved = resolveOptions({ tls: { ca: "-----BEGIN CERTIFICATE-----" } });
    expect(resolved.url.startsWith("amqps://guest:guest@127.0.0.1:5671/")).toBe(true);
  });

  it("rejects a URL with another scheme", () => {
    const error = configError(() => resolveOptions({ url: "http://user:hunter2@127.0.0.1:5672/" }));
    expect(error.message).toContain("amqp://");
    expect(error.message, "the password must not appear in the error").not.toContain("hunter2");
  });

  it("rejects bad numbers and names", () => {
    expect(configError(() => resolveOptions({ prefetchCount: 0 })).message).toContain("prefetchCount");
    expect(configError(() => resolveOptions({ channelPoolSize: 1.5 })).message).toContain("1.5");
    expect(configError(() => resolveOptions({ port: 70_000 })).message).toContain("70000");
    expect(configError(() => resolveOptions({ queuePrefix: "amq.jobs" })).message).toContain("amq.");
    expect(configError(() => resolveOptions({ logsExchange: "logs with spaces" })).message).toContain("logsExchange");
    expect(configError(() => resolveOptions({ delayLevelsMs: [100, 50] })).message).toContain("ascending");
    expect(configError(() => resolveOptions({ delayLevelsMs: [] })).message).toContain("delayLevelsMs");
  });
});

describe("maskUrl", () => {
  it("hides the password only", () => {
    expect(maskUrl("amqps://admin:s3cret@broker.internal:5671/shop")).toBe("amqps://admin:****@broker.internal:5671/shop");
    expect(maskUrl("amqp://127.0.0.1:5672/")).toBe("amqp://127.0.0.1:5672/");
  });
});

describe("envSchema", () => {
  it("fills every default", () => {
    const env = envSchema.parse({});
    expect(env.RABBITMQ_HOST).toBe("127.0.0.1");
    expect(env.RABBITMQ_USERNAME).toBe("guest");
    expect(env.RABBITMQ_VHOST).toBe("/");
    expect(env.RABBITMQ_QUEUE_PREFIX).toBe("bridge");
    expect(env.RABBITMQ_PREFETCH_COUNT).toBe(20);
    expect(env.RABBITMQ_HEARTBEAT_INTERVAL).toBe(30);
    expect(env.RABBITMQ_CHANNEL_POOL_SIZE).toBe(4);
    expect(env.RABBITMQ_QUORUM_QUEUES).toBe(false);
    expect(env.RABBITMQ_MAX_PAYLOAD_BYTES).toBe(1_048_576);
    expect(env.RABBITMQ_OUTBOX_SIZE).toBe(10_000);
    expect(env.RABBITMQ_LOGS_EXCHANGE).toBe("logs");
    expect(env.RABBITMQ_NOTIFICATIONS_EXCHANGE).toBe("notifications");
    const options = optionsFromEnv(env);
    expect(resolveOptions(options).url).toBe("amqp://guest:guest@127.0.0.1:5672/%2F");
  });

  it("prefers RABBITMQ_URL", () => {
    const options = optionsFromEnv(envSchema.parse({ RABBITMQ_URL: "amqp://app:pw@127.0.0.1:5673/shop", RABBITMQ_HOST: "ignored" }));
    expect(resolveOptions(options).url).toBe("amqp://app:pw@127.0.0.1:5673/shop");
  });

  it("lists every bad variable", () => {
    const result = envSchema.safeParse({
      RABBITMQ_URL: "http://x",
      RABBITMQ_PORT: "99999",
      RABBITMQ_PREFETCH_COUNT: "many",
      RABBITMQ_QUORUM_QUEUES: "maybe",
      RABBITMQ_TLS_CA_FILE: "/no/such/ca.pem",
      RABBITMQ_NOTIFICATIONS_EXCHANGE: "amq.topic",
    });
    expect(result.success).toBe(false);
    const variables = result.success ? [] : result.error.issues.map((issue) => issue.path[0]);
    expect(variables.sort()).toEqual(
      ["RABBITMQ_NOTIFICATIONS_EXCHANGE", "RABBITMQ_PORT", "RABBITMQ_PREFETCH_COUNT", "RABBITMQ_QUORUM_QUEUES", "RABBITMQ_TLS_CA_FILE", "RABBITMQ_URL"].sort(),
    );
  });

  it("reads TLS files and wants cert with key", () => {
    const folder = mkdtempSync(join(tmpdir(), "bridge-rabbitmq-tls-"));
    const ca = join(folder, "ca.pem");
    const cert = join(folder, "cert.pem");
    writeFileSync(ca, "CA PEM");
    writeFileSync(cert, "CERT PEM");

    const lonely = envSchema.safeParse({ RABBITMQ_TLS_CERT_FILE: cert });
    expect(lonely.success).toBe(false);
    expect(lonely.success ? [] : lonely.error.issues.map((issue) => issue.path[0])).toEqual(["RABBITMQ_TLS_KEY_FILE"]);

    const options = optionsFromEnv(envSchema.parse({ RABBITMQ_TLS_CA_FILE: ca }));
    expect(options.tls?.ca?.toString()).toBe("CA PEM");
    expect(resolveOptions(options).url.startsWith("amqps://")).toBe(true);
  });
});

describe("topology", () => {
  it("names queues after the task", () => {
    const names = taskQueueNames("shop", "order.place", [50, 1_000]);
    expect(names.jobsExchange).toBe("shop.jobs");
    expect(names.deadLetterExchange).toBe("shop.dlx");
    expect(names.work).toBe("shop.order.place");
    expect(names.deadLetter).toBe("shop.order.place.dlq");
    expect([...names.wait.values()]).toEqual(["shop.order.place.wait.50", "shop.order.place.wait.1000"]);
  });

  it("picks the largest level not above the delay", () => {
    const levels = [50, 200, 1_000, 5_000];
    expect(pickDelayLevel(10, levels)).toBe(50);
    expect(pickDelayLevel(50, levels)).toBe(50);
    expect(pickDelayLevel(199, levels)).toBe(50);
    expect(pickDelayLevel(4_999, levels)).toBe(1_000);
    expect(pickDelayLevel(3_600_000, levels)).toBe(5_000);
  });
});
