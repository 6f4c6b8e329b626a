import { BridgeError, ConfigError, type BridgeErrorCode, type RoleName } from "@bridge/core";

export const PACKAGE_NAME = "@bridge/rabbitmq";

/** Options of `rabbitmq()`. Every field is optional; the default sits next to each. */
export interface RabbitMQOptions {
  /** Integration name, as used in `roles` and `bridge.integrations.<name>`. Default `"rabbitmq"`. */
  name?: string;
  /** AMQP URL such as `amqp://guest:guest@127.0.0.1:5672/`; `amqps://` turns TLS on. Wins over host, port, username, password and vhost. */
  url?: string;
  /** Broker host when `url` is absent. Default `"127.0.0.1"`. */
  host?: string;
  /** Broker port when `url` is absent. Default 5672, or 5671 with `tls`. */
  port?: number;
  /** Default `"guest"`. */
  username?: string;
  /** Default `"guest"`. Never logged or put in an error message. */
  password?: string;
  /** Virtual host. Default `"/"`. */
  vhost?: string;
  /** PEM contents for TLS; setting any of them (or an `amqps://` URL) connects over TLS. */
  tls?: { ca?: string | Buffer; cert?: string | Buffer; key?: string | Buffer };
  /** Prefix of every exchange and queue the queue role declares. Default `"bridge"`. */
  queuePrefix?: string;
  /** Unacked deliveries a consumer channel may hold (AMQP basic.qos). Default 20; `consume` raises it to its concurrency. */
  prefetchCount?: number;
  /** AMQP heartbeat in seconds; 0 turns heartbeats off. Default 30. */
  heartbeatSeconds?: number;
  /** Confirm channels that publishes are spread over. Default 4. */
  channelPoolSize?: number;
  /** Declares work and dead-letter queues as quorum queues (replicated, no priority). Default false. */
  quorumQueues?: boolean;
  /** Largest encoded job card, log entry or notification accepted, in bytes. Default 1 MiB. */
  maxPayloadBytes?: number;
  /** Publishes kept in memory while the broker is unreachable; one more fails with OUTBOX_FULL. Default 10,000. */
  outboxSize?: number;
  /** Fanout exchange of the logs role. Default `"logs"`. */
  logsExchange?: string;
  /** Topic exchange of the notifications role. Default `"notifications"`. */
  notificationsExchange?: string;
  /** Delays of the wait queues that hold delayed and retried jobs, in ms, ascending. Default 50 ms to 1 h in 9 levels. */
  delayLevelsMs?: number[];
  /** How long an idempotency key is remembered after its publish, in ms. Default 24 h. */
  idempotencyTtlMs?: number;
  /** Idempotency keys remembered at most; the oldest is forgotten first. Default 100,000. */
  idempotencyMaxKeys?: number;
  /** Delay before the first reconnect attempt, in ms; doubles up to `reconnectMaxDelayMs`. Default 100. */
  reconnectInitialDelayMs?: number;
  /** Default 5,000. */
  reconnectMaxDelayMs?: number;
}

export const DEFAULT_DELAY_LEVELS_MS: readonly number[] = [50, 200, 1_000, 5_000, 15_000, 60_000, 300_000, 900_000, 3_600_000];

export interface ResolvedOptions {
  name: string;
  url: string;
  /** The URL with its password replaced by `****`, for logs and errors. */
  maskedUrl: string;
  tls: { ca?: string | Buffer; cert?: string | Buffer; key?: string | Buffer } | undefined;
  queuePrefix: string;
  prefetchCount: number;
  heartbeatSeconds: number;
  channelPoolSize: number;
  quorumQueues: boolean;
  maxPayloadBytes: number;
  outboxSize: number;
  logsExchange: string;
  notificationsExchange: string;
  delayLevelsMs: number[];
  idempotencyTtlMs: number;
  idempotencyMaxKeys: number;
  reconnectInitialDelayMs: number;
  reconnectMaxDelayMs: number;
}

/** Builds the error every check of this package throws: the package, the option, the value and the fix. */
export function optionError(option: string, value: unknown, expected: string): ConfigError {
  return new ConfigError([{ variable: `${PACKAGE_NAME} option ${option}`, value: describeValue(option, value), message: expected }], {
    integration: "rabbitmq",
  });
}

/** Builds a typed error of this package, naming the integration and role. */
export function rabbitError(message: string, code: BridgeErrorCode, role: RoleName | undefined, extra: { tenantId?: string; retryable?: boolean; details?: Record<string, unknown>; cause?: unknown } = {}): BridgeError {
  return new BridgeError(`[${PACKAGE_NAME}] ${message}`, { code, role, integration: "rabbitmq", ...extra });
}

function describeValue(option: string, value: unknown): string | undefined {
  if (value === undefined) return undefined;
  if (/password|key/i.test(option)) return "****";
  if (typeof value === "string") return maskUrl(value);
  return JSON.stringify(value) ?? String(value);
}

/** Replaces the password of an AMQP URL with `****`. */
export function maskUrl(url: string): string {
  return url.replace(/(\/\/[^:/@\s]*:)[^@\s]*@/g, "$1****@");
}

const NAME_PATTERN = /^[A-Za-z0-9_.:-]+$/;

function positiveInt(option: string, value: number | undefined, fallback: number, min = 1): number {
  if (value === undefined) return fallback;
  if (!Number.isInteger(value) || value < min) throw optionError(option, value, `expected a whole number of at least ${min}`);
  return value;
}

function exchangeName(option: string, value: string | undefined, fallback: string): string {
  if (value === undefined) return fallback;
  if (!NAME_PATTERN.test(value) || value.startsWith("amq.")) {
    throw optionError(option, value, "expected letters, digits, '.', '-', '_' or ':' and no 'amq.' prefix (reserved by RabbitMQ)");
  }
  return value;
}

/** Checks the options and fills in every default. Throws a CONFIG_INVALID error naming the first bad option. */
export function resolveOptions(options: RabbitMQOptions): ResolvedOptions {
  const tls = options.tls && (options.tls.ca || options.tls.cert || options.tls.key) ? options.tls : undefined;
  const url = options.url ?? buildUrl(options, tls !== undefined);
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw optionError("url", url, "expected an AMQP URL such as amqp://guest:guest@127.0.0.1:5672/");
  }
  if (parsed.protocol !== "amqp:" && parsed.protocol !== "amqps:") {
    throw optionError("url", url, "expected the amqp:// or amqps:// scheme");
  }

  const delayLevelsMs = options.delayLevelsMs ? [...options.delayLevelsMs] : [...DEFAULT_DELAY_LEVELS_MS];
  if (delayLevelsMs.length === 0 || delayLevelsMs.some((ms, i) => !Number.isInteger(ms) || ms < 1 || (i > 0 && ms <= (delayLevelsMs[i - 1] ?? 0)))) {
    throw optionError("delayLevelsMs", delayLevelsMs, "expected a non-empty list of whole milliseconds above 0 in ascending order");
  }

  const queuePrefix = exchangeName("queuePrefix", options.queuePrefix, "bridge");
  return {
    name: options.name ?? "rabbitmq",
    url,
    maskedUrl: maskUrl(url),
    tls,
    queuePrefix,
    prefetchCount: positiveInt("prefetchCount", options.prefetchCount, 20),
    heartbeatSeconds: positiveInt("heartbeatSeconds", options.heartbeatSeconds, 30, 0),
    channelPoolSize: positiveInt("channelPoolSize", options.channelPoolSize, 4),
    quorumQueues: options.quorumQueues ?? false,
    maxPayloadBytes: positiveInt("maxPayloadBytes", options.maxPayloadBytes, 1024 * 1024),
    outboxSize: positiveInt("outboxSize", options.outboxSize, 10_000, 0),
    logsExchange: exchangeName("logsExchange", options.logsExchange, "logs"),
    notificationsExchange: exchangeName("notificationsExchange", options.notificationsExchange, "notifications"),
    delayLevelsMs,
    idempotencyTtlMs: positiveInt("idempotencyTtlMs", options.idempotencyTtlMs, 24 * 60 * 60 * 1000),
    idempotencyMaxKeys: positiveInt("idempotencyMaxKeys", options.idempotencyMaxKeys, 100_000),
    reconnectInitialDelayMs: positiveInt("reconnectInitialDelayMs", options.reconnectInitialDelayMs, 100),
    reconnectMaxDelayMs: positiveInt("reconnectMaxDelayMs", options.reconnectMaxDelayMs, 5_000),
  };
}

function buildUrl(options: RabbitMQOptions, tls: boolean): string {
  const scheme = tls ? "amqps" : "amqp";
  const host = options.host ?? "127.0.0.1";
  const port = positiveInt("port", options.port, tls ? 5671 : 5672);
  if (port > 65_535) throw optionError("port", port, "expected a TCP port from 1 to 65535");
  const username = encodeURIComponent(options.username ?? "guest");
  const password = encodeURIComponent(options.password ?? "guest");
  const vhost = encodeURIComponent(options.vhost ?? "/");
  const hostPart = host.includes(":") && !host.startsWith("[") ? `[${host}]` : host;
  return `${scheme}://${username}:${password}@${hostPart}:${port}/${vhost}`;
}
