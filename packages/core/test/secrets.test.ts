import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { createEnvSecrets } from "../src/embedded/secrets.js";
import { isBridgeError, type BridgeError } from "../src/errors.js";

let dir: string;
let dotenvPath: string;

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "bridge-secrets-"));
  dotenvPath = join(dir, ".env");
});

afterEach(() => {
  vi.useRealTimers();
  rmSync(dir, { recursive: true, force: true });
});

async function caught(promise: Promise<unknown>): Promise<BridgeError> {
  try {
    await promise;
  } catch (error) {
    if (isBridgeError(error)) return error;
    throw error;
  }
  throw new Error("expected the call to throw a BridgeError");
}

describe("env secrets", () => {
  it("reads the environment", async () => {
    const secrets = createEnvSecrets({ env: { STRIPE_KEY: "sk_test_123" } });
    expect(await secrets.get("STRIPE_KEY")).toEqual({ name: "STRIPE_KEY", version: "latest", value: "sk_test_123" });
    expect(secrets.capabilities).toEqual({ versions: false, rotation: false });
  });

  it("reads the .env file", async () => {
    writeFileSync(dotenvPath, ['# payment', 'STRIPE_KEY="sk_file"', "MULTILINE=\"line1\\nline2\"", "export EXPORTED=yes", "QUOTED='a # not a comment'"].join("\n"));
    const secrets = createEnvSecrets({ env: {}, dotenvPath });
    expect((await secrets.get("STRIPE_KEY")).value).toBe("sk_file");
    expect((await secrets.get("MULTILINE")).value).toBe("line1\nline2");
    expect((await secrets.get("EXPORTED")).value).toBe("yes");
    expect((await secrets.get("QUOTED")).value).toBe("a # not a comment");
  });

  it("environment wins over the file", async () => {
    writeFileSync(dotenvPath, "STRIPE_KEY=from-file\nONLY_FILE=file\n");
    const secrets = createEnvSecrets({ env: { STRIPE_KEY: "from-env" }, dotenvPath });
    expect((await secrets.get("STRIPE_KEY")).value).toBe("from-env");
    expect((await secrets.get("ONLY_FILE")).value).toBe("file");
  });

  it("missing secret names where it looked", async () => {
    const secrets = createEnvSecrets({ env: { OTHER: "x" }, dotenvPath });
    const error = await caught(secrets.get("MAILGUN_API_KEY"));
    expect(error.code).toBe("SECRET_NOT_FOUND");
    expect(error.role).toBe("secrets");
    expect(error.message).toContain('"MAILGUN_API_KEY"');
    expect(error.message).toContain(dotenvPath);
    expect(error.message).toContain("file not found");

    const withoutFile = await caught(createEnvSecrets({ env: {} }).get("MAILGUN_API_KEY"));
    expect(withoutFile.message).toContain("no .env file configured");
  });

  it("empty value counts as missing", async () => {
    writeFileSync(dotenvPath, "EMPTY=\n");
    const secrets = createEnvSecrets({ env: { BLANK: "" }, dotenvPath });
    expect((await caught(secrets.get("BLANK"))).code).toBe("SECRET_NOT_FOUND");
    expect((await caught(secrets.get("EMPTY"))).code).toBe("SECRET_NOT_FOUND");
  });

  it("versions are not supported", async () => {
    const secrets = createEnvSecrets({ env: { DB_PASSWORD: "pw" } });
    const error = await caught(secrets.get("DB_PASSWORD", { version: "3" }));
    expect(error.code).toBe("NOT_SUPPORTED");
    expect(error.message).toContain("no versions");
    expect((await secrets.get("DB_PASSWORD", { version: "latest" })).value).toBe("pw");
  });

  it("invalid names are rejected", async () => {
    const secrets = createEnvSecrets({ env: {} });
    for (const name of ["", "1ABC", "A-B", "A B", "../etc/passwd"]) {
      expect((await caught(secrets.get(name))).code, name).toBe("VALIDATION_FAILED");
    }
  });

  it("values are cached for the TTL", async () => {
    vi.useFakeTimers({ toFake: ["Date"] });
    const env: Record<string, string> = { API_KEY: "first" };
    writeFileSync(dotenvPath, "FILE_KEY=first\n");
    const secrets = createEnvSecrets({ env, dotenvPath, ttlMs: 1000 });

    expect((await secrets.get("API_KEY")).value).toBe("first");
    expect((await secrets.get("FILE_KEY")).value).toBe("first");
    env.API_KEY = "second";
    writeFileSync(dotenvPath, "FILE_KEY=second\n");
    vi.advanceTimersByTime(999);
    expect((await secrets.get("API_KEY")).value).toBe("first");
    expect((await secrets.get("FILE_KEY")).value).toBe("first");

    vi.advanceTimersByTime(1);
    expect((await secrets.get("API_KEY")).value).toBe("second");
    expect((await secrets.get("FILE_KEY")).value).toBe("second");
  });

  it("ttl 0 reads every time", async () => {
    const env: Record<string, string> = { API_KEY: "first" };
    const secrets = createEnvSecrets({ env, ttlMs: 0 });
    expect((await secrets.get("API_KEY")).value).toBe("first");
    env.API_KEY = "second";
    expect((await secrets.get("API_KEY")).value).toBe("second");
    expect(() => createEnvSecrets({ ttlMs: -1 })).toThrow(/ttlMs/);
  });

  it("a secret added later is found", async () => {
    const env: Record<string, string> = {};
    const secrets = createEnvSecrets({ env });
    await caught(secrets.get("LATE"));
    env.LATE = "now";
    expect((await secrets.get("LATE")).value).toBe("now");
  });
});

describe("env secrets: references", () => {
  it("resolves references deep in objects", async () => {
    writeFileSync(dotenvPath, "DB_PASSWORD=hunter2\n");
    const secrets = createEnvSecrets({ env: { MAILGUN_API_KEY: "key-1" }, dotenvPath });
    const config = {
      db: { host: "127.0.0.1", password: "secret:DB_PASSWORD", port: 5432 },
      mail: [{ apiKey: "secret:MAILGUN_API_KEY" }, "plain", null],
      note: "not secret:ABC because the string does not start with it",
      enabled: true,
    };

    const resolved = await secrets.resolveReferences(config);

    expect(resolved).toEqual({
      db: { host: "127.0.0.1", password: "hunter2", port: 5432 },
      mail: [{ apiKey: "key-1" }, "plain", null],
      note: "not secret:ABC because the string does not start with it",
      enabled: true,
    });
    expect(config.db.password).toBe("secret:DB_PASSWORD");
  });

  it("lists every missing reference", async () => {
    const secrets = createEnvSecrets({ env: { PRESENT: "x" } });
    const error = await caught(secrets.resolveReferences({ a: "secret:PRESENT", b: { c: "secret:MISSING_ONE" }, d: ["secret:MISSING_TWO"] }));
    expect(error.code).toBe("SECRET_NOT_FOUND");
    expect(error.message).toContain('"MISSING_ONE" (at b.c)');
    expect(error.message).toContain('"MISSING_TWO" (at d[0])');
    expect(error.message).not.toContain("PRESENT");
  });

  it("versioned reference is not supported", async () => {
    const secrets = createEnvSecrets({ env: { DB_PASSWORD: "pw" } });
    const error = await caught(secrets.resolveReferences({ password: "secret:DB_PASSWORD@2" }));
    expect(error.code).toBe("NOT_SUPPORTED");
    expect(await secrets.resolveReferences({ password: "secret:DB_PASSWORD@latest" })).toEqual({ password: "pw" });
  });

  it("bad references are rejected", async () => {
    const secrets = createEnvSecrets({ env: {} });
    const badName = await caught(secrets.resolveReferences({ key: "secret:not valid" }));
    expect(badName.code).toBe("VALIDATION_FAILED");
    expect(badName.message).toContain("at key");

    const cyclic: Record<string, unknown> = { a: 1 };
    cyclic.self = cyclic;
    expect((await caught(secrets.resolveReferences(cyclic))).message).toContain("refers to itself at self");
  });

  it("leaves other values alone", async () => {
    const secrets = createEnvSecrets({ env: { KEY: "v" } });
    const date = new Date(0);
    const resolved = await secrets.resolveReferences({ date, list: [1, "secret:KEY"], top: "secret:KEY" });
    expect(resolved.date).toBe(date);
    expect(resolved.list).toEqual([1, "v"]);
    expect(await secrets.resolveReferences("secret:KEY")).toBe("v");
    expect(await secrets.resolveReferences(42)).toBe(42);

    const withProto = JSON.parse('{"__proto__": {"polluted": "secret:KEY"}}') as Record<string, unknown>;
    const copy = (await secrets.resolveReferences(withProto)) as Record<string, unknown>;
    expect(Object.getPrototypeOf(copy)).toBe(Object.prototype);
    expect(Object.getOwnPropertyDescriptor(copy, "__proto__")?.value).toEqual({ polluted: "v" });
  });
});
