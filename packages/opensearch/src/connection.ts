// One OpenSearch client per integration, created on first use, with the
// retry policy around every call and the translation of client errors into
// Bridge errors.
import { Client, errors } from "@opensearch-project/opensearch";
import {
  BridgeError,
  createResiliencePolicy,
  currentTenantId,
  NotFoundError,
  TimeoutError,
  UnavailableError,
  ValidationError,
  type HealthReport,
  type Logger,
  type ResiliencePolicy,
} from "@bridge/core";
import { ItemsRejectedError } from "./bulk.js";
import { INTEGRATION_NAME, type ResolvedOptions } from "./options.js";
import { describeServerError, type ServerError } from "./server-errors.js";

/** Oldest OpenSearch this package is tested against for geo_shape queries on geo_point fields and `require_alias`. */
const MIN_MAJOR_VERSION = 2;

const silentLogger: Logger = {
  trace() {},
  debug() {},
  info() {},
  warn() {},
  error() {},
  fatal() {},
  child() {
    return silentLogger;
  },
};

/** HTTP statuses that mean "try again later": too many requests, and gateway or node unavailable. */
const RETRYABLE_STATUSES = new Set([429, 502, 503, 504]);

export interface ServerInfo {
  version: string;
  distribution: string;
  clusterName: string;
}

export class OpenSearchConnection {
  logger: Logger = silentLogger;
  private clientInstance: Client | undefined;
  private readonly policy: ResiliencePolicy;
  /** Retries whole bulk requests like `policy`, and also the items that came back with 429. */
  readonly bulkPolicy: ResiliencePolicy;
  private readonly inFlight = new Set<Promise<unknown>>();
  private closed = false;

  constructor(readonly options: ResolvedOptions) {
    // Forwards to the logger of `start`, which arrives after construction.
    const forward: Logger = {
      trace: (message, fields) => this.logger.trace(message, fields),
      debug: (message, fields) => this.logger.debug(message, fields),
      info: (message, fields) => this.logger.info(message, fields),
      warn: (message, fields) => this.logger.warn(message, fields),
      error: (message, fields) => this.logger.error(message, fields),
      fatal: (message, fields) => this.logger.fatal(message, fields),
      child: (bindings) => this.logger.child(bindings),
    };
    const common = {
      role: "search" as const,
      integration: INTEGRATION_NAME,
      retries: options.retries,
      backoff: { initialMs: options.retryInitialDelayMs, maxMs: options.retryMaxDelayMs },
      logger: forward,
    };
    // After 5 failures in a row that a retry could not fix, calls fail fast for 5 s instead of each waiting out its retries.
    this.policy = createResiliencePolicy({ ...common, name: "opensearch request", circuitBreaker: { consecutiveFailures: 5, halfOpenAfterMs: 5_000 }, isRetryable });
    this.bulkPolicy = createResiliencePolicy({
      ...common,
      name: "opensearch bulk request",
      isRetryable: (error) => error instanceof ItemsRejectedError || isRetryable(error),
    });
  }

  /** The client, created on first use. Creating it opens no connection. */
  get client(): Client {
    if (this.closed) {
      throw new BridgeError(`The OpenSearch integration "${this.options.name}" is stopped: create a new one to search again`, {
        code: "CLOSED",
        role: "search",
        integration: INTEGRATION_NAME,
      });
    }
    this.clientInstance ??= new Client({
      nodes: this.options.nodes,
      ...(this.options.auth ? { auth: this.options.auth } : {}),
      requestTimeout: this.options.requestTimeoutMs,
      // Retries happen in the resilience policy, which also covers 429.
      maxRetries: 0,
    });
    return this.clientInstance;
  }

  /** Connects, checks the server version and logs it. Throws UnavailableError when no node responds. */
  async start(logger: Logger): Promise<ServerInfo> {
    this.logger = logger;
    const info = await this.serverInfo();
    const major = Number(info.version.split(".")[0]);
    if (info.distribution !== "opensearch" || !(major >= MIN_MAJOR_VERSION)) {
      throw new BridgeError(
        `The node at ${this.options.maskedNodes.join(", ")} runs ${info.distribution} ${info.version}; @bridge/opensearch needs OpenSearch ${MIN_MAJOR_VERSION}.x or later`,
        { code: "CONFIG_INVALID", role: "search", integration: INTEGRATION_NAME, details: info as unknown as Record<string, unknown> },
      );
    }
    this.logger.info("connected to OpenSearch", { nodes: this.options.maskedNodes, version: info.version, cluster: info.clusterName });
    return info;
  }

  async serverInfo(): Promise<ServerInfo> {
    const response = await this.request("read the server version", (client) => client.info());
    const body = response.body as { version?: { number?: string; distribution?: string }; cluster_name?: string };
    return {
      version: body.version?.number ?? "unknown",
      // Elasticsearch does not set distribution.
      distribution: body.version?.distribution ?? "elasticsearch",
      clusterName: body.cluster_name ?? "unknown",
    };
  }

  /**
   * Runs one request under the retry policy (429, 502-504 and unreachable
   * nodes are retried with backoff) and translates its errors. `operation`
   * names the request in messages, such as `search index "products"`.
   */
  async request<T>(operation: string, send: (client: Client) => Promise<T>): Promise<T> {
    const client = this.client;
    try {
      return await this.track(this.policy.execute(() => send(client)));
    } catch (error) {
      throw this.translate(error, operation);
    }
  }

  /** Counts `work` as in flight until it settles, so `close` can wait for it. */
  async track<T>(work: Promise<T>): Promise<T> {
    this.inFlight.add(work);
    try {
      return await work;
    } finally {
      this.inFlight.delete(work);
    }
  }

  /** Runs one request once, without retries, translating its errors. */
  async requestOnce<T>(operation: string, send: (client: Client) => Promise<T>): Promise<T> {
    try {
      return await send(this.client);
    } catch (error) {
      throw this.translate(error, operation);
    }
  }

  /** Turns a client error into a Bridge error that names the operation and what to do. */
  translate(error: unknown, operation: string): unknown {
    if (error instanceof BridgeError) return error;
    const context = { role: "search" as const, integration: INTEGRATION_NAME, tenantId: currentTenantId(), cause: error };
    const nodes = this.options.maskedNodes.join(", ");

    if (error instanceof errors.ResponseError) {
      const status = error.statusCode;
      const reason = serverReason(error);
      const details = { status, type: serverErrorType(error), reason };
      if (status === 404) {
        return new NotFoundError(`${operation} failed: not found on OpenSearch (${reason})`, { ...context, details });
      }
      if (status === 401 || status === 403) {
        return new BridgeError(
          `${operation} was rejected by OpenSearch at ${nodes} with HTTP ${status} (${reason}): check OPENSEARCH_AUTH_USERNAME and OPENSEARCH_AUTH_PASSWORD and the user's permissions`,
          { ...context, code: "CONFIG_INVALID", details },
        );
      }
      if (RETRYABLE_STATUSES.has(status)) {
        return new UnavailableError(`${operation} failed with HTTP ${status} from OpenSearch (${reason}) after ${this.options.retries} retries: the cluster is overloaded or recovering, try again later`, {
          ...context,
          details,
        });
      }
      if (status === 409) return new BridgeError(`${operation} failed with a conflict on OpenSearch: ${reason}`, { ...context, code: "CONFLICT", details });
      if (status === 400) return new ValidationError(`${operation} was rejected by OpenSearch: ${reason}`, { ...context, details });
      return new BridgeError(`${operation} failed with HTTP ${status} from OpenSearch: ${reason}`, { ...context, code: status >= 500 ? "UNAVAILABLE" : "INTERNAL", retryable: status >= 500, details });
    }
    if (error instanceof errors.TimeoutError) {
      return new TimeoutError(`${operation} timed out waiting for OpenSearch at ${nodes}: check the cluster's load, or raise the request timeout`, context);
    }
    if (error instanceof errors.ConnectionError || error instanceof errors.NoLivingConnectionsError) {
      return new UnavailableError(
        `${operation} failed: OpenSearch is not reachable at ${nodes} (${error.message}). Check that it runs (pnpm services:up on a development machine) and that OPENSEARCH_NODE points at it`,
        context,
      );
    }
    return error;
  }

  /** Cluster health and version: up when green, degraded when yellow, down when red or unreachable. */
  async health(): Promise<HealthReport> {
    const startedAt = performance.now();
    const nodes = this.options.maskedNodes;
    try {
      const [info, scoped, cluster] = await Promise.all([
        this.requestOnce("read the server version", (client) => client.info()),
        // Health of this integration's indexes only, so another application's red index does not mark Bridge down.
        this.requestOnce("read index health", (client) =>
          client.cluster.health({ index: `${this.options.indexPrefix}.*`, timeout: "2s" } as never),
        ),
        this.requestOnce("read cluster health", (client) => client.cluster.health({ timeout: "2s" } as never)),
      ]);
      const version = (info.body as { version?: { number?: string } }).version?.number ?? "unknown";
      const indexes = scoped.body as { status?: string; unassigned_shards?: number; active_shards?: number };
      const whole = cluster.body as { status?: string; cluster_name?: string; number_of_nodes?: number; unassigned_shards?: number };
      let status: HealthReport["status"] = "down";
      if (indexes.status === "green") status = "up";
      else if (indexes.status === "yellow") status = "degraded";
      return {
        status,
        latencyMs: Math.round(performance.now() - startedAt),
        detail: {
          nodes,
          version,
          cluster: whole.cluster_name,
          clusterStatus: whole.status,
          indexStatus: indexes.status,
          indexPattern: `${this.options.indexPrefix}.*`,
          numberOfNodes: whole.number_of_nodes,
          unassignedShards: indexes.unassigned_shards,
          ...(status === "degraded"
            ? { reason: `${indexes.unassigned_shards ?? "some"} replica shard(s) are unassigned; on a single node set OPENSEARCH_INDEX_REPLICAS=0` }
            : {}),
        },
      };
    } catch (error) {
      const translated = this.translate(error, "health check");
      return { status: "down", latencyMs: Math.round(performance.now() - startedAt), detail: { nodes, error: (translated as Error).message } };
    }
  }

  /** Waits for in-flight requests up to `deadlineMs`, then closes the client. */
  async close(deadlineMs: number): Promise<void> {
    if (this.inFlight.size > 0) {
      let timer: NodeJS.Timeout | undefined;
      const deadline = new Promise<void>((resolve) => {
        timer = setTimeout(resolve, deadlineMs);
      });
      await Promise.race([Promise.allSettled([...this.inFlight]), deadline]);
      clearTimeout(timer);
      if (this.inFlight.size > 0) this.logger.warn("closing the OpenSearch client with requests still running", { count: this.inFlight.size, deadlineMs });
    }
    this.closed = true;
    await this.clientInstance?.close();
    this.clientInstance = undefined;
    this.logger.info("OpenSearch client closed", { nodes: this.options.maskedNodes });
  }
}

function isRetryable(error: unknown): boolean {
  if (error instanceof errors.ResponseError) return RETRYABLE_STATUSES.has(error.statusCode);
  return error instanceof errors.ConnectionError || error instanceof errors.NoLivingConnectionsError;
}

/** Returns the server's reason for an error response, with the root cause when it adds something. */
export function serverReason(error: InstanceType<typeof errors.ResponseError>): string {
  const body = error.body as { error?: ServerError | string } | undefined;
  const problem = body?.error;
  if (typeof problem === "string") return problem;
  if (problem === undefined) return error.message;
  return describeServerError(problem);
}

function serverErrorType(error: InstanceType<typeof errors.ResponseError>): string | undefined {
  const problem = (error.body as { error?: ServerError | string } | undefined)?.error;
  return typeof problem === "object" ? problem.type : undefined;
}
