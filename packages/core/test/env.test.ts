import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { z } from "zod";
import { ConfigError, ProviderNotInstalledError, createBridgeFromEnv, embedded, maskValue, type ProviderPackage } from "../src/index.js";

const outbox = () => mkdtempSync(join(tmpdir(), "bridge-env-"));

/** A provider package as `@bridge/fakemq` would export it. */
const fakeProvider: ProviderPackage = {
  name: "fakemq",
  roles: ["queue"],
  secretVariables: ["FAKEMQ_PASSWORD"],
  envSchema: z.object({
    FAKEMQ_URL: z.string().url("expected a URL such as amqp://127.0.0.1:5672"),
    FAKEMQ_PASSWORD: z.string().min(12, "expected at least 12 characters"),
    FAKEMQ_PREFETCH: z.coerce.number().int().positive("expected a number above 0").default(10),
  }),
  fromEnv() {
    const base = embedded({ outboxDir: outbox(), logs: { stderr: false } });
    return { ...base, name: "fakemq", roles: ["queue"], modules: { queue: base.modules.queue } };
  },
};

const loadFake = async (name: string) => {
  if (name === "@bridge/fakemq") return { provider: fakeProvider };
  const error = new Error(`Cannot find package '${name}'`) as Error & { code: string };
  error.code = "ERR_MODULE_NOT_FOUND";
  throw error;
};

describe("createBridgeFromEnv", () => {
  it("builds an embedded bridge from an empty environment", async () => {
    const bridge = await createBridgeFromEnv({ BRIDGE_OUTBOX_DIR: outbox(), BRIDGE_LOG_STDERR: "false" });
    expect(bridge.providers.queue).toEqual(["embedded"]);
    await bridge.stop();
  });

  it("loads a provider package named in BRIDGE_QUEUE", async () => {
    const bridge = await createBridgeFromEnv(
      { BRIDGE_QUEUE: "fakemq", FAKEMQ_URL: "amqp://127.0.0.1:5672", FAKEMQ_PASSWORD: "a-long-password", BRIDGE_LOG_STDERR: "false" },
      { loadProvider: loadFake },
    );
    expect(bridge.providers.queue).toEqual(["fakemq"]);
    expect(bridge.providers.logs).toEqual(["embedded"]);
  });

  it("lists every invalid variable at once with secrets masked", async () => {
    const env = {
      BRIDGE_QUEUE: "fakemq",
      BRIDGE_LOG_LEVEL: "loud",
      BRIDGE_DRAIN_MS: "-5",
      BRIDGE_SEARCH: "Open Search",
      FAKEMQ_URL: "not a url",
      FAKEMQ_PASSWORD: "short",
      FAKEMQ_PREFETCH: "0",
    };
    const error = await createBridgeFromEnv(env, { loadProvider: loadFake }).catch((e: unknown) => e);

    expect(error).toBeInstanceOf(ConfigError);
    const problems = (error as ConfigError).problems;
    const variables = problems.map((p) => p.variable).sort();
    expect(variables).toEqual(["BRIDGE_DRAIN_MS", "BRIDGE_LOG_LEVEL", "BRIDGE_SEARCH", "FAKEMQ_PASSWORD", "FAKEMQ_PREFETCH", "FAKEMQ_URL"]);
    const password = problems.find((p) => p.variable === "FAKEMQ_PASSWORD");
    expect(password?.value).toBe("****");
    expect((error as Error).message).not.toContain("short");
    expect((error as Error).message).toContain("expected one of trace, debug, info, warn, error, fatal");
  });

  it("reports a missing variable as missing", async () => {
    const error = (await createBridgeFromEnv({ BRIDGE_QUEUE: "fakemq", FAKEMQ_PASSWORD: "a-long-password" }, { loadProvider: loadFake }).catch(
      (e: unknown) => e,
    )) as ConfigError;
    const url = error.problems.find((p) => p.variable === "FAKEMQ_URL");
    expect(url?.value).toBeUndefined();
    expect(error.message).toContain("FAKEMQ_URL");
    expect(error.message).toContain("got nothing");
  });

  it("names the install command for a provider that is not installed", async () => {
    const error = await createBridgeFromEnv({ BRIDGE_QUEUE: "kafka", BRIDGE_LOGS: "kafka,mongodb" }, { loadProvider: loadFake }).catch(
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(ProviderNotInstalledError);
    expect((error as Error).message).toContain("pnpm add @bridge/kafka @bridge/mongodb");
    expect((error as Error).message).toContain("BRIDGE_QUEUE=kafka");
  });

  it("lists a missing package with every other problem", async () => {
    const error = (await createBridgeFromEnv({ BRIDGE_QUEUE: "nosuch", BRIDGE_LOG_LEVEL: "loud", BRIDGE_DRAIN_MS: "-1" }, { loadProvider: loadFake }).catch(
      (e: unknown) => e,
    )) as ProviderNotInstalledError;

    expect(error).toBeInstanceOf(ProviderNotInstalledError);
    expect(error.problems.map((p) => p.variable).sort()).toEqual(["BRIDGE_DRAIN_MS", "BRIDGE_LOG_LEVEL", "BRIDGE_QUEUE"]);
    expect(error.message).toContain("Bridge providers for this role: embedded, kafka, rabbitmq");
    expect(error.message).toContain("milliseconds");
  });

  it("resolves real packages from the working directory and reports absent ones", async () => {
    const error = await createBridgeFromEnv({ BRIDGE_SEARCH: "nosuchprovider" }, { resolveFrom: tmpdir() }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ProviderNotInstalledError);
    expect((error as Error).message).toContain("pnpm add @bridge/nosuchprovider");
  });
});

describe("maskValue", () => {
  it("masks secret names and URL passwords", () => {
    expect(maskValue("MAILGUN_API_KEY", "key-123")).toBe("****");
    expect(maskValue("RABBITMQ_URL", "amqp://bridge:s3cret@127.0.0.1:5672/shop")).toBe("amqp://bridge:****@127.0.0.1:5672/shop");
    expect(maskValue("KAFKA_BROKERS", "127.0.0.1:9092")).toBe("127.0.0.1:9092");
  });

  it("keeps a declared-secret URL readable", () => {
    const secrets = new Set(["RABBITMQ_URL"]);
    expect(maskValue("RABBITMQ_URL", "notaurl", secrets)).toBe("notaurl");
    expect(maskValue("RABBITMQ_URL", "amqps://app:pw@127.0.0.1/shop?token=abc&heartbeat=5", secrets)).toBe(
      "amqps://app:****@127.0.0.1/shop?token=****&heartbeat=****",
    );
    expect(maskValue("RABBITMQ_PASSWORD", "pw", new Set(["RABBITMQ_PASSWORD"]))).toBe("****");
    expect(maskValue("RABBITMQ_URL", "guest:s3cretPW@127.0.0.1:5672", secrets)).toBe("guest:****@127.0.0.1:5672");
    expect(maskValue("RABBITMQ_URL", "amqp://guest:s3cret PW@127.0.0.1:5672", secrets)).toBe("amqp://guest:****@127.0.0.1:5672");
  });
});
