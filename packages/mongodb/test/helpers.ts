// Shared setup of the integration tests: a database per test file or case,
// dropped afterwards, and a logger that keeps what the provider logs.
import { randomUUID } from "node:crypto";
import type { Logger } from "@bridge/core";
import { MongoClient } from "mongodb";
import type { MongoIntegration } from "../src/index.js";

export interface LoggedLine {
  level: string;
  message: string;
  fields: Record<string, unknown> | undefined;
}

/** Creates a Logger that records every line, for tests that check what the provider logs. */
export function recordingLogger(lines: LoggedLine[] = []): Logger & { lines: LoggedLine[] } {
  const record = (level: string) => (message: string, fields?: Record<string, unknown>) => {
    lines.push({ level, message, fields });
  };
  const logger = {
    lines,
    trace: record("trace"),
    debug: record("debug"),
    info: record("info"),
    warn: record("warn"),
    error: record("error"),
    fatal: record("fatal"),
    child: () => logger,
  };
  return logger;
}

/** Returns a fresh database name such as `bridge_test_oversell_3f9a0c1d`. */
export function testDatabase(label: string): string {
  return `bridge_test_${label.replace(/[^A-Za-z0-9_]/g, "_").slice(0, 30)}_${randomUUID().slice(0, 8)}`;
}

export async function startIntegration(integration: MongoIntegration, logger: Logger = recordingLogger()): Promise<MongoIntegration> {
  await integration.start({ logger });
  return integration;
}

/** Drops a test database with a client of its own, so it works after the integration stopped. */
export async function dropDatabase(uri: string, database: string): Promise<void> {
  const client = new MongoClient(uri, { serverSelectionTimeoutMS: 2_000 });
  try {
    await client.connect();
    await client.db(database).dropDatabase();
  } finally {
    await client.close();
  }
}
