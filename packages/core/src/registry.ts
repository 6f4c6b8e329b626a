import { BridgeError, ConfigError, ROLE_NAMES, type ConfigProblem, type RoleName } from "./errors.js";
import { embedded, type EmbeddedOptions } from "./embedded/index.js";
import { createMemoryLogSink } from "./embedded/log-sink.js";
import type { HealthReport, HealthStatus, Integration, RoleModules } from "./integration.js";
import { createLogs } from "./logs.js";
import type { AiRole } from "./roles/ai.js";
import type { CatalogSyncRole } from "./roles/catalog.js";
import type { CryptoRole } from "./roles/crypto.js";
import type { DataModuleName, DataRole } from "./roles/data/index.js";
import type { LogLevel, LogSink, LogsRole } from "./roles/logs.js";
import type { EmailRole, SmsRole } from "./roles/messaging.js";
import type { NotificationsRole } from "./roles/notifications.js";
import type { QueueRole } from "./roles/queue.js";
import type { SearchRole } from "./roles/search.js";
import type { SecretsRole } from "./roles/secrets.js";
import { createWorker, type Worker, type WorkerDefinition } from "./worker.js";

export const EMBEDDED = "embedded";

const DATA_MODULES: readonly DataModuleName[] = [
  "engagements",
  "datastore",
  "inventory",
  "pricing",
  "workers",
  "translators",
  "uom",
  "repository",
  "lists",
  "management",
];

/** Integration names per role. Logs may fan out to several. */
export type RoleAssignments = Partial<Record<Exclude<RoleName, "logs">, string>> & { logs?: string | string[] };

export interface BridgeOptions {
  integrations?: Integration[];
  /** Roles left out are served by the embedded provider, and one log line at start lists them. */
  roles?: RoleAssignments;
  /** Options of the embedded provider when the registry creates it. */
  embedded?: EmbeddedOptions;
  logs?: {
    minLevel?: LogLevel;
    /** Dot paths in log fields whose values are replaced, such as `customer.email` or `*.card`. */
    redactPaths?: string[];
    batchSize?: number;
    flushIntervalMs?: number;
  };
  /** Default deadline for in-flight work in `stop()`. */
  drainMs?: number;
  /** Timeout of each integration's health check. */
  healthTimeoutMs?: number;
}

export interface BridgeHealth {
  status: HealthStatus;
  integrations: Record<string, HealthReport>;
}

export interface HttpProbe {
  ok: boolean;
  status: 200 | 503;
  body: Record<string, unknown>;
}

export interface Bridge {
  readonly queue: QueueRole;
  readonly logs: LogsRole;
  readonly notifications: NotificationsRole;
  readonly data: DataRole;
  readonly search: SearchRole;
  readonly email: EmailRole;
  readonly sms: SmsRole;
  readonly secrets: SecretsRole;
  readonly crypto: CryptoRole;
  readonly ai: AiRole;
  readonly catalog: CatalogSyncRole;
  /** Provider-specific modules by integration name, such as `bridge.integrations.rabbitmq.queue`. */
  readonly integrations: Readonly<Record<string, RoleModules>>;
  /** Integration names serving each role, such as `{ queue: ["rabbitmq"], logs: ["rabbitmq", "mongodb"] }`. */
  readonly providers: Readonly<Record<RoleName, string[]>>;
  /** Defines a worker on the queue role. Workers defined before `start()` start with it. */
  worker<P = unknown>(definition: WorkerDefinition<P>): Worker;
  start(): Promise<void>;
  /** Turns readiness false, drains workers and integrations within `drainMs`, flushes logs, closes connections. */
  stop(options?: { drainMs?: number }): Promise<void>;
  health(): Promise<BridgeHealth>;
  /** 200 while the process runs and has not been stopped. */
  liveness(): HttpProbe;
  /** 200 once started and no integration is down; 503 from the moment `stop()` begins. */
  readiness(): Promise<HttpProbe>;
  /** Stops gracefully on SIGTERM and SIGINT, then exits; a second signal exits at once. Returns a remover. */
  installSignalHandlers(options?: { drainMs?: number; exit?: boolean }): () => void;
}

type State = "created" | "starting" | "started" | "stopping" | "stopped";

/** Composes integrations into one Bridge. Nothing connects until `start()`. */
export function createBridge(options: BridgeOptions = {}): Bridge {
  const integrations = indexIntegrations(options.integrations ?? []);
  const assignments = resolveAssignments(options.roles ?? {});
  const needsEmbedded = Object.values(assignments).some((names) => names.includes(EMBEDDED));
  if (needsEmbedded && !integrations.has(EMBEDDED)) {
    integrations.set(EMBEDDED, embedded(options.embedded));
  }
  validateAssignments(assignments, integrations);

  const fallbackSink = createMemoryLogSink({ stderr: true });
  const sinks = assignments.logs.map((name) => requireModule(integrations, name, "logs") as LogSink);
  const logs = createLogs({
    sinks,
    fallback: fallbackSink,
    minLevel: options.logs?.minLevel,
    redactPaths: options.logs?.redactPaths,
    batchSize: options.logs?.batchSize,
    flushIntervalMs: options.logs?.flushIntervalMs,
  });
  const log = logs.child({ source: "bridge" });

  const pick = <R extends Exclude<RoleName, "logs" | "data">>(role: R): NonNullable<RoleModules[R]> => {
    const name = assignments[role][0];
    if (name === undefined) return notConfigured(role) as NonNullable<RoleModules[R]>;
    return requireModule(integrations, name, role) as NonNullable<RoleModules[R]>;
  };

  const data = composeData(assignments.data[0] ?? EMBEDDED, integrations);
  const providers = Object.fromEntries(ROLE_NAMES.map((role) => [role, [...assignments[role]]])) as Record<RoleName, string[]>;
  const workers: Worker[] = [];
  let state: State = "created";
  const drainMs = options.drainMs ?? 10_000;
  const healthTimeoutMs = options.healthTimeoutMs ?? 2_000;

  const bridge: Bridge = {
    queue: pick("queue"),
    logs,
    notifications: pick("notifications"),
    data,
    search: pick("search"),
    email: pick("email"),
    sms: pick("sms"),
    secrets: pick("secrets"),
    crypto: pick("crypto"),
    ai: pick("ai"),
    catalog: pick("catalog"),
    integrations: Object.fromEntries([...integrations].map(([name, integration]) => [name, integration.modules])),
    providers,

    worker(definition) {
      const worker = createWorker(
        { queue: bridge.queue, logger: logs.child({ source: "worker", task: definition.task }), registry: data.workers },
        definition as WorkerDefinition,
      );
      workers.push(worker);
      if (state === "started") log.info("worker defined after start; call worker.start() to run it", { task: definition.task });
      return worker;
    },

    async start() {
      if (state !== "created") {
        throw new BridgeError(`Bridge.start() called in state "${state}"; a Bridge starts once`, { code: "CONFLICT" });
      }
      state = "starting";
      const started: Integration[] = [];
      try {
        for (const integration of integrations.values()) {
          await integration.start({ logger: logs.child({ source: integration.name }) });
          started.push(integration);
        }
      } catch (error) {
        state = "stopped";
        log.error("integration failed to start; stopping the ones already started", { err: error });
        await Promise.allSettled(started.map((integration) => integration.stop({ deadlineMs: drainMs })));
        await logs.flush();
        throw error;
      }
      const fallbacks = ROLE_NAMES.filter((role) => assignments[role].includes(EMBEDDED) && !options.roles?.[role]);
      if (fallbacks.length > 0) {
        log.info("roles without a configured provider use the embedded default", { roles: fallbacks });
      }
      for (const worker of workers) await worker.start();
      state = "started";
      log.info("bridge started", { providers });
    },

    async stop(stopOptions = {}) {
      if (state === "stopping" || state === "stopped") return;
      const deadlineMs = stopOptions.drainMs ?? drainMs;
      const stopEach = async (list: Integration[]) => {
        for (const integration of list) {
          try {
            await integration.stop({ deadlineMs });
          } catch (error) {
            log.error("integration failed to stop cleanly", { integration: integration.name, err: error });
          }
        }
      };
      state = "stopping";
      log.info("bridge stopping", { drainMs: deadlineMs });
      await Promise.allSettled(workers.map((worker) => worker.stop({ drainMs: deadlineMs })));
      // Integrations that hold log sinks stop last, after a flush, so the
      // other integrations' stop messages still reach those sinks. What a sink's
      // own integration logs while it stops goes to the fallback sink.
      const order = [...integrations.values()].reverse();
      const sinkNames = new Set(assignments.logs);
      await stopEach(order.filter((integration) => !sinkNames.has(integration.name)));
      await logs.flush();
      await stopEach(order.filter((integration) => sinkNames.has(integration.name)));
      state = "stopped";
      await logs.close();
    },

    async health() {
      const entries = await Promise.all(
        [...integrations.values()].map(async (integration) => [integration.name, await checkHealth(integration, healthTimeoutMs)] as const),
      );
      return { status: worstStatus(entries.map(([, report]) => report.status)), integrations: Object.fromEntries(entries) };
    },

    liveness() {
      const alive = state !== "stopped";
      return { ok: alive, status: alive ? 200 : 503, body: { status: alive ? "up" : "down", state } };
    },

    async readiness() {
      if (state !== "started") return { ok: false, status: 503, body: { status: "down", state } };
      const health = await bridge.health();
      const ok = health.status !== "down";
      return { ok, status: ok ? 200 : 503, body: { ...health, state } };
    },

    installSignalHandlers(signalOptions = {}) {
      let received = 0;
      const onSignal = (signal: NodeJS.Signals) => {
        received += 1;
        if (received > 1) {
          log.warn("second signal received; exiting without waiting for the drain", { signal });
          process.exit(1);
        }
        log.info("signal received; stopping", { signal });
        void bridge
          .stop({ drainMs: signalOptions.drainMs })
          .catch((error: unknown) => log.error("stop failed", { err: error }))
          .finally(() => {
            if (signalOptions.exit !== false) process.exit(0);
          });
      };
      process.on("SIGTERM", onSignal);
      process.on("SIGINT", onSignal);
      return () => {
        process.off("SIGTERM", onSignal);
        process.off("SIGINT", onSignal);
      };
    },
  };
  return bridge;
}

function indexIntegrations(list: Integration[]): Map<string, Integration> {
  const byName = new Map<string, Integration>();
  const problems: ConfigProblem[] = [];
  for (const integration of list) {
    if (byName.has(integration.name)) {
      problems.push({
        variable: `integrations[${integration.name}]`,
        value: integration.name,
        message: "two integrations share this name; give each a distinct name",
      });
    }
    byName.set(integration.name, integration);
  }
  if (problems.length > 0) throw new ConfigError(problems);
  // The embedded integration starts first so its log sink and fallbacks exist before providers log.
  const embeddedEntry = byName.get(EMBEDDED);
  if (embeddedEntry === undefined) return byName;
  byName.delete(EMBEDDED);
  return new Map([[EMBEDDED, embeddedEntry], ...byName]);
}

function resolveAssignments(roles: RoleAssignments): Record<RoleName, string[]> {
  const result = {} as Record<RoleName, string[]>;
  for (const role of ROLE_NAMES) {
    const value = roles[role];
    const names = value === undefined ? [] : Array.isArray(value) ? value : [value];
    if (names.length > 0) result[role] = [...names];
    else result[role] = role === "ai" || role === "catalog" ? [] : [EMBEDDED];
  }
  return result;
}

function validateAssignments(assignments: Record<RoleName, string[]>, integrations: Map<string, Integration>): void {
  const problems: ConfigProblem[] = [];
  for (const role of ROLE_NAMES) {
    for (const name of assignments[role]) {
      const integration = integrations.get(name);
      if (integration === undefined) {
        problems.push({
          variable: `roles.${role}`,
          value: name,
          message: `no integration named "${name}"; pass it in integrations (known: ${[...integrations.keys()].join(", ") || "none"})`,
        });
      } else if (!integration.roles.includes(role) || integration.modules[role] === undefined) {
        problems.push({
          variable: `roles.${role}`,
          value: name,
          message: `integration "${name}" does not provide the ${role} role (it provides: ${integration.roles.join(", ")})`,
        });
      }
    }
  }
  if (problems.length > 0) throw new ConfigError(problems);
}

function requireModule(integrations: Map<string, Integration>, name: string, role: RoleName): unknown {
  const module = integrations.get(name)?.modules[role];
  if (module === undefined) {
    throw new BridgeError(`Integration "${name}" has no ${role} module`, { code: "ROLE_NOT_CONFIGURED", role, integration: name });
  }
  return module;
}

/** Composes the named provider's data modules, taking the modules it lacks from the embedded store. */
function composeData(name: string, integrations: Map<string, Integration>): DataRole {
  const provided = integrations.get(name)?.modules.data ?? {};
  const fallback = integrations.get(EMBEDDED)?.modules.data;
  const composed: Partial<DataRole> = {};
  for (const module of DATA_MODULES) {
    const chosen = provided[module] ?? fallback?.[module];
    if (chosen !== undefined) (composed as Record<string, unknown>)[module] = chosen;
  }
  return composed as DataRole;
}

/** Creates a stand-in for a role without a provider: every call fails with a message on how to configure it. */
function notConfigured(role: RoleName): unknown {
  return new Proxy(
    {},
    {
      get(_target, property) {
        if (property === "then" || typeof property === "symbol") return undefined;
        return () => {
          throw new BridgeError(
            `The ${role} role has no provider. Install one and set BRIDGE_${role.toUpperCase()} (or roles.${role} in createBridge)`,
            { code: "ROLE_NOT_CONFIGURED", role },
          );
        };
      },
    },
  );
}

async function checkHealth(integration: Integration, timeoutMs: number): Promise<HealthReport> {
  const startedAt = performance.now();
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<HealthReport>((resolve) => {
    timer = setTimeout(() => resolve({ status: "down", detail: { error: `health check timed out after ${timeoutMs} ms` } }), timeoutMs);
  });
  try {
    const report = await Promise.race([integration.health(), timeout]);
    return { latencyMs: Math.round(performance.now() - startedAt), ...report };
  } catch (error) {
    return { status: "down", latencyMs: Math.round(performance.now() - startedAt), detail: { error: (error as Error).message } };
  } finally {
    clearTimeout(timer);
  }
}

function worstStatus(statuses: HealthStatus[]): HealthStatus {
  if (statuses.includes("down")) return "down";
  if (statuses.includes("degraded")) return "degraded";
  return "up";
}
