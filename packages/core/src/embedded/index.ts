import { join } from "node:path";
import type { Integration } from "../integration.js";
import type { Logger, LogLevel } from "../roles/logs.js";
import { createNodeCrypto } from "./crypto.js";
import { createMemoryData } from "./data/index.js";
import { createMemoryLogSink } from "./log-sink.js";
import { createMemoryNotifications } from "./notifications.js";
import { createOutboxEmail, createOutboxSms } from "./outbox.js";
import { createMemoryQueue } from "./queue.js";
import { createMemorySearch } from "./search.js";
import { createEnvSecrets } from "./secrets.js";

export interface EmbeddedOptions {
  /** Folder that receives `.eml` and `.json` files instead of real email and SMS; `./var/outbox` by default. */
  outboxDir?: string;
  logs?: { capacity?: number; stderr?: boolean; minLevel?: LogLevel };
  queue?: Parameters<typeof createMemoryQueue>[0];
  secrets?: { env?: Record<string, string | undefined>; dotenvPath?: string; ttlMs?: number };
  crypto?: Parameters<typeof createNodeCrypto>[0];
}

/**
 * Creates the embedded integration: every role in-process with nothing
 * installed, serving each role that no provider serves. State lives in
 * memory, except the outbox.
 */
export function embedded(options: EmbeddedOptions = {}) {
  const outboxDir = options.outboxDir ?? join(process.cwd(), "var", "outbox");
  const logger = createDeferredLogger();
  const modules = {
    queue: createMemoryQueue({ logger, ...options.queue }),
    logs: createMemoryLogSink(options.logs),
    notifications: createMemoryNotifications({ logger }),
    data: createMemoryData(),
    search: createMemorySearch(),
    email: createOutboxEmail({ dir: join(outboxDir, "email") }),
    sms: createOutboxSms({ dir: join(outboxDir, "sms") }),
    secrets: createEnvSecrets(options.secrets),
    crypto: createNodeCrypto(options.crypto),
  };

  const integration: Integration<typeof modules> = {
    name: "embedded",
    roles: ["queue", "logs", "notifications", "data", "search", "email", "sms", "secrets", "crypto"],
    modules,
    async start(context) {
      logger.attach(context.logger);
    },
    async health() {
      return { status: "up", latencyMs: 0, detail: { outboxDir } };
    },
    async stop({ deadlineMs }) {
      await modules.queue.close({ drainMs: deadlineMs });
      await modules.notifications.close();
    },
  };
  return integration;
}

/**
 * Creates the logger the queue and notifications get at construction. It
 * forwards to the logs role once the registry starts the integration, and
 * writes entries before that to stderr as JSON lines.
 */
function createDeferredLogger(bindings: Record<string, unknown> = {}, shared: { target?: Logger } = {}): Logger & { attach(logger: Logger): void } {
  const write = (level: LogLevel) => (message: string, fields?: Record<string, unknown>) => {
    const target = shared.target;
    if (target) {
      target.child(bindings)[level](message, fields);
      return;
    }
    if (level === "trace" || level === "debug") return;
    process.stderr.write(`${JSON.stringify({ level, message, source: "embedded", ...bindings, ...fields })}\n`);
  };
  return {
    trace: write("trace"),
    debug: write("debug"),
    info: write("info"),
    warn: write("warn"),
    error: write("error"),
    fatal: write("fatal"),
    child: (more) => createDeferredLogger({ ...bindings, ...more }, shared),
    attach(logger) {
      shared.target = logger;
    },
  };
}
