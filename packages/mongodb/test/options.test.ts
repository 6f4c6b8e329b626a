// Options and environment variables: defaults, one error listing every bad
// value, and passwords masked. No server needed.
import { ConfigError, createBridgeFromEnv, isBridgeError } from "@bridge/core";
import { describe, expect, it } from "vitest";
import { maskUri, mongodb, provider } from "../src/index.js";
import { resolveOptions } from "../src/options.js";

function catchError(fn: () => unknown): unknown {
  try {
    fn();
  } catch (error) {
    return error;
  }
  return expect.fail("expected the call to throw");
}

describe("options", () => {
  it("fills in the defaults", () => {
    const options = resolveOptions({ uri: "mongodb://127.0.0.1:27017" });
    expect(options).toMatchObject({
      database: "bridge",
      name: "mongodb",
      maxPoolSize: 20,
      minPoolSize: 0,
      readPreference: "primary",
      writeConcern: "majority",
      readConcern: "local",
      logsTtlDays: 14,
      serverSelectionTimeoutMs: 2000,
      documentLocks: "auto",
    });
  });

  it("lists every bad option in one error", () => {
    const error = catchError(() =>
      mongodb({ uri: "http://shop:hunter2@db.internal", database: "bad/name", maxPoolSize: 0, readPreference: "fastest" as never }),
    );
    expect(error).toBeInstanceOf(ConfigError);
    const problems = (error as ConfigError).problems.map((problem) => problem.variable);
    expect(problems).toEqual(
      expect.arrayContaining(["@bridge/mongodb option uri", "@bridge/mongodb option database", "@bridge/mongodb option maxPoolSize", "@bridge/mongodb option readPreference"]),
    );
    expect((error as ConfigError).message).toContain("mongodb://");
    expect((error as ConfigError).message, "the password in the URI is masked").not.toContain("hunter2");
  });

  it("rejects unknown options and impossible pools", () => {
    const unknown = catchError(() => mongodb({ uri: "mongodb://127.0.0.1", databse: "typo" } as never));
    expect((unknown as ConfigError).message).toContain("databse");

    const pool = catchError(() => mongodb({ uri: "mongodb://127.0.0.1", minPoolSize: 30, maxPoolSize: 10 }));
    expect((pool as ConfigError).problems[0]).toMatchObject({ variable: "@bridge/mongodb option minPoolSize" });
  });

  it("masks a password given on its own", () => {
    const error = catchError(() => mongodb({ uri: "mongodb://127.0.0.1", password: "hunter2" }));
    expect((error as ConfigError).message).toContain("username");
    expect((error as ConfigError).message).not.toContain("hunter2");
  });

  it("masks passwords in URIs", () => {
    expect(maskUri("mongodb://shop:hunter2@127.0.0.1:27017/orders")).toBe("mongodb://shop:****@127.0.0.1:27017/orders");
    expect(maskUri("mongodb://127.0.0.1:27017")).toBe("mongodb://127.0.0.1:27017");
  });

  it("connects nothing at construction", async () => {
    const integration = mongodb({ uri: "mongodb://127.0.0.1:9" });
    expect(integration.modules.data.engagements).toBeDefined();
    expect(integration.server).toBeNull();
    await integration.stop({ deadlineMs: 1_000 });
  });
});

describe("environment", () => {
  it("has a default for every variable but credentials", () => {
    const parsed = provider.envSchema.parse({});
    expect(parsed).toMatchObject({
      MONGODB_URI: "mongodb://127.0.0.1:27017",
      MONGODB_DATABASE: "bridge",
      MONGODB_MAX_POOL_SIZE: 20,
      MONGODB_MIN_POOL_SIZE: 0,
      MONGODB_READ_PREFERENCE: "primary",
      MONGODB_WRITE_CONCERN: "majority",
      MONGODB_READ_CONCERN: "local",
      MONGODB_LOGS_TTL_DAYS: 14,
    });
    expect(parsed.MONGODB_USERNAME).toBeUndefined();
  });

  it("reads numbers and the write concern", () => {
    const parsed = provider.envSchema.parse({ MONGODB_MAX_POOL_SIZE: "50", MONGODB_WRITE_CONCERN: "1", MONGODB_LOGS_TTL_DAYS: "30" });
    expect(parsed).toMatchObject({ MONGODB_MAX_POOL_SIZE: 50, MONGODB_WRITE_CONCERN: 1, MONGODB_LOGS_TTL_DAYS: 30 });
    expect(provider.fromEnv(parsed).name).toBe("mongodb");
  });

  it("fails start with every bad variable, secrets masked", async () => {
    const env = {
      BRIDGE_DATA: "mongodb",
      MONGODB_URI: "postgres://shop:hunter2@127.0.0.1",
      MONGODB_MAX_POOL_SIZE: "lots",
      MONGODB_READ_CONCERN: "eventual",
      MONGODB_LOGS_TTL_DAYS: "0",
      MONGODB_PASSWORD: "s3cret-value",
    };
    const error = await createBridgeFromEnv(env, { loadProvider: async () => ({ provider }) }).then(
      () => expect.fail("expected createBridgeFromEnv to reject"),
      (rejected: unknown) => rejected,
    );
    expect(isBridgeError(error, "CONFIG_INVALID")).toBe(true);
    const message = (error as ConfigError).message;
    for (const variable of ["MONGODB_URI", "MONGODB_MAX_POOL_SIZE", "MONGODB_READ_CONCERN", "MONGODB_LOGS_TTL_DAYS", "MONGODB_PASSWORD"]) {
      expect(message).toContain(variable);
    }
    expect(message).not.toContain("hunter2");
    expect(message).not.toContain("s3cret-value");
  });

  it("declares the password as a secret", () => {
    expect(provider.secretVariables).toContain("MONGODB_PASSWORD");
    expect(provider.roles).toEqual(["data", "logs"]);
  });
});
