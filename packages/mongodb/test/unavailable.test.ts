// A server that cannot be reached: every call fails with a typed
// UnavailableError that names the masked address, and health reports down.
// Uses a port on 127.0.0.1 that this test just closed, so no server is needed.
import { createServer } from "node:net";
import { isBridgeError, runWithTenant } from "@bridge/core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { mongodb, type MongoIntegration } from "../src/index.js";
import { recordingLogger } from "./helpers.js";

async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

describe("unreachable server", () => {
  let integration: MongoIntegration;
  let uri: string;

  beforeAll(async () => {
    uri = `mongodb://shop:hunter2@127.0.0.1:${await closedPort()}`;
    integration = mongodb({ uri, serverSelectionTimeoutMs: 200, connectTimeoutMs: 200 });
  });

  afterAll(async () => {
    await integration.stop({ deadlineMs: 1_000 });
  });

  it("start fails with UnavailableError", async () => {
    const error = await integration.start({ logger: recordingLogger() }).then(
      () => expect.fail("start should reject"),
      (rejected: unknown) => rejected,
    );
    expect(isBridgeError(error, "UNAVAILABLE")).toBe(true);
    expect((error as Error).message).toContain("unreachable");
    expect((error as Error).message).not.toContain("hunter2");
    expect((error as { retryable: boolean }).retryable).toBe(true);
  });

  it("reads fail with UnavailableError", async () => {
    const error = await runWithTenant("acme", () => integration.modules.data.engagements.get("order-1")).then(
      () => expect.fail("the read should reject"),
      (rejected: unknown) => rejected,
    );
    expect(isBridgeError(error, "UNAVAILABLE")).toBe(true);
    expect((error as Error).message).toContain("shop:****@127.0.0.1");
    expect((error as Error).message).not.toContain("hunter2");
    expect((error as { integration: string }).integration).toBe("mongodb");
    expect((error as { tenantId: string }).tenantId).toBe("acme");
  });

  it("log writes fail with UnavailableError", async () => {
    const entry = { id: "log-1", timestamp: new Date().toISOString(), level: "info" as const, message: "hello" };
    const error = await integration.modules.logs.write([entry]).then(
      () => expect.fail("the write should reject"),
      (rejected: unknown) => rejected,
    );
    expect(isBridgeError(error, "UNAVAILABLE")).toBe(true);
  });

  it("health reports down", async () => {
    const health = await integration.health();
    expect(health.status).toBe("down");
    expect(String(health.detail?.error)).toContain("unreachable");
    expect(JSON.stringify(health)).not.toContain("hunter2");
  });
});
