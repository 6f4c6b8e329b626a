// One AMQP connection shared by the queue, logs and notifications roles. It has
// a pool of confirm channels for publishing and a bounded outbox for publishes
// made while the broker is away. Its reconnect loop declares the topology
// again and resumes every consumer before the outbox is sent.
import { connect, type Channel, type ChannelModel, type ConfirmChannel, type Options } from "amqplib";
import { computeBackoffMs, type Logger, type RoleName } from "@bridge/core";
import { maskUrl, rabbitError, type ResolvedOptions } from "./options.js";

export type ConnectionState = "idle" | "connecting" | "connected" | "reconnecting" | "closed";

/** Something that must run again on every new connection: topology declarations and consumers. */
export interface ConnectionHook {
  /** Runs with the new connection before queued publishes are sent; a throw counts as a failed attempt. */
  onConnect(model: ChannelModel): Promise<void>;
  /** Runs when the connection is lost, so the hook can drop channels and deliveries of the old one. */
  onDisconnect?(): void;
}

export interface PublishRequest {
  exchange: string;
  routingKey: string;
  content: Buffer;
  options: Options.Publish;
  /** Role that published it, for error messages. */
  role: RoleName;
}

interface OutboxEntry extends PublishRequest {
  resolve(): void;
  reject(error: unknown): void;
  /** Sends that failed because a channel closed under it; bounded so that a message that kills its channel cannot loop. */
  failures: number;
}

const MAX_SEND_FAILURES = 5;

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

export class AmqpConnection {
  state: ConnectionState = "idle";
  /** Increases on every new connection, so that leases and deliveries of an older connection are recognised as stale. */
  generation = 0;
  logger: Logger = silentLogger;
  /** Time of the last connection loss, reported by health while reconnecting. */
  lostAt: number | undefined;
  lastError: string | undefined;
  reconnectAttempts = 0;

  private model: ChannelModel | undefined;
  private publishChannels: ConfirmChannel[] = [];
  private nextChannel = 0;
  private adminChannel: Promise<Channel> | undefined;
  private readonly hooks = new Set<ConnectionHook>();
  private readonly outbox: OutboxEntry[] = [];
  private reconnectTimer: NodeJS.Timeout | undefined;
  private connecting: Promise<void> | undefined;
  private waiters: Array<{ resolve(): void; reject(): void }> = [];
  /** Publishes sent and not yet confirmed or failed. */
  private unconfirmed = 0;

  constructor(private readonly options: ResolvedOptions) {}

  addHook(hook: ConnectionHook): void {
    this.hooks.add(hook);
  }

  removeHook(hook: ConnectionHook): void {
    this.hooks.delete(hook);
  }

  /** Opens the first connection; fails with UNAVAILABLE when the broker cannot be reached. */
  async start(logger: Logger): Promise<void> {
    this.logger = logger;
    if (this.state !== "idle") return;
    this.state = "connecting";
    try {
      await this.open();
    } catch (error) {
      this.state = "idle";
      throw rabbitError(
        `Could not connect to RabbitMQ at ${this.options.maskedUrl}: ${maskUrl(errorMessage(error))}. Start the broker or check RABBITMQ_URL (or RABBITMQ_HOST and RABBITMQ_PORT).`,
        "UNAVAILABLE",
        undefined,
        { retryable: true, cause: error },
      );
    }
    this.logger.info("connected to RabbitMQ", { url: this.options.maskedUrl, publishChannels: this.options.channelPoolSize });
  }

  /** Resolves once connected; rejects when the connection is closed for good. */
  async ready(role?: RoleName): Promise<ChannelModel> {
    if (this.state === "connected" && this.model) return this.model;
    if (this.state === "closed" || this.state === "idle") throw this.closedError(role);
    // Woken by open() once connected, or by close() when the connection ends for good.
    await new Promise<void>((resolve, reject) => this.waiters.push({ resolve, reject: () => reject(this.closedError(role)) }));
    if (!this.model) throw this.closedError(role);
    return this.model;
  }

  /** Runs `work` on a shared channel for declarations, gets and purges, opening a new one if the last was closed. */
  async withAdminChannel<T>(role: RoleName, work: (channel: Channel) => Promise<T>): Promise<T> {
    const model = await this.ready(role);
    if (!this.adminChannel) {
      const opening = model.createChannel().then((channel) => {
        channel.on("error", (error: Error) => this.logger.warn("RabbitMQ admin channel closed by an error", { error: error.message }));
        channel.on("close", () => {
          if (this.adminChannel === opening) this.adminChannel = undefined;
        });
        return channel;
      });
      this.adminChannel = opening;
      opening.catch(() => {
        if (this.adminChannel === opening) this.adminChannel = undefined;
      });
    }
    return work(await this.adminChannel);
  }

  /** Opens a channel owned by the caller, such as a consumer's. */
  async createChannel(role: RoleName): Promise<Channel> {
    const model = await this.ready(role);
    return model.createChannel();
  }

  /**
   * Publishes with a publisher confirm and resolves once the broker confirms.
   * While the broker is away the message waits in the outbox; when the outbox
   * is full the call fails with OUTBOX_FULL and nothing is queued.
   */
  publish(request: PublishRequest): Promise<void> {
    if (this.state === "closed" || this.state === "idle") return Promise.reject(this.closedError(request.role));
    if (this.state !== "connected") {
      return new Promise<void>((resolve, reject) => {
        if (this.outbox.length >= this.options.outboxSize) {
          reject(this.outboxFullError(request));
          return;
        }
        this.outbox.push({ ...request, resolve, reject, failures: 0 });
      });
    }
    return new Promise<void>((resolve, reject) => {
      this.send({ ...request, resolve, reject, failures: 0 });
    });
  }

  async health(): Promise<{ status: "up" | "degraded" | "down"; latencyMs?: number; detail: Record<string, unknown> }> {
    const detail: Record<string, unknown> = { url: this.options.maskedUrl, state: this.state, outbox: this.outbox.length };
    if (this.state === "connected") {
      const started = performance.now();
      try {
        await this.withAdminChannel("queue", (channel) => channel.checkExchange("amq.direct"));
        return { status: "up", latencyMs: Math.round(performance.now() - started), detail };
      } catch (error) {
        return { status: "degraded", detail: { ...detail, error: maskUrl(errorMessage(error)) } };
      }
    }
    if (this.state === "reconnecting" || this.state === "connecting") {
      return {
        status: "degraded",
        detail: { ...detail, lostAt: this.lostAt ? new Date(this.lostAt).toISOString() : undefined, lastError: this.lastError, attempts: this.reconnectAttempts },
      };
    }
    return { status: "down", detail };
  }

  /** Waits up to `deadlineMs` for queued and unconfirmed publishes, rejects the rest, then closes the connection. */
  async close(deadlineMs: number): Promise<void> {
    if (this.state === "closed") return;
    const deadline = Date.now() + deadlineMs;
    while ((this.outbox.length > 0 || this.unconfirmed > 0) && Date.now() < deadline && this.state !== "idle") {
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    const previous = this.state;
    this.state = "closed";
    clearTimeout(this.reconnectTimer);
    // A reconnect attempt in progress sees the closed state, closes its own connection and gives up.
    await this.connecting?.catch(() => undefined);
    for (const waiter of this.waiters.splice(0)) waiter.reject();
    const left = this.outbox.splice(0);
    if (left.length > 0) {
      this.logger.error("RabbitMQ connection closed with publishes still in the outbox; they were not sent", { count: left.length });
      for (const entry of left) entry.reject(this.closedError(entry.role));
    }
    const model = this.model;
    this.model = undefined;
    this.publishChannels = [];
    this.adminChannel = undefined;
    if (model && previous !== "idle") {
      try {
        await model.close();
      } catch (error) {
        this.logger.debug("RabbitMQ connection was already closed", { error: errorMessage(error) });
      }
    }
    this.logger.info("RabbitMQ connection closed", { url: this.options.maskedUrl });
  }

  private async open(): Promise<void> {
    const model = await connect(withHeartbeat(this.options.url, this.options.heartbeatSeconds), {
      noDelay: false,
      timeout: 5_000,
      clientProperties: { connection_name: `bridge:${this.options.name}` },
      ...(this.options.tls ?? {}),
    });
    // Listeners go on first: an 'error' event without a listener would crash the process.
    let lostDuringSetup = false;
    model.on("error", (error: Error) => {
      this.lastError = maskUrl(error.message);
    });
    model.on("blocked", (reason: string) => this.logger.warn("RabbitMQ blocked publishing on this connection", { reason }));
    model.on("unblocked", () => this.logger.info("RabbitMQ unblocked publishing on this connection"));
    model.on("close", (error?: Error) => {
      if (this.state === "connected") this.onConnectionClosed(model, error);
      else lostDuringSetup = true;
    });

    try {
      const channels: ConfirmChannel[] = [];
      for (let i = 0; i < this.options.channelPoolSize; i++) channels.push(await this.openPublishChannel(model, i));
      this.generation += 1;
      this.model = model;
      this.publishChannels = channels;
      this.adminChannel = undefined;
      for (const hook of [...this.hooks]) await hook.onConnect(model);
      if (lostDuringSetup) throw new Error("the connection closed while the topology was being declared");
      if (this.state === "closed") throw new Error("close() was called while the connection was being opened");
    } catch (error) {
      this.model = undefined;
      this.publishChannels = [];
      await model.close().catch(() => undefined);
      throw error;
    }

    this.state = "connected";
    for (const waiter of this.waiters.splice(0)) waiter.resolve();
    this.flushOutbox();
  }

  private async openPublishChannel(model: ChannelModel, index: number): Promise<ConfirmChannel> {
    const channel = await model.createConfirmChannel();
    channel.on("error", (error: Error) => this.logger.warn("RabbitMQ publish channel closed by an error", { error: error.message }));
    channel.on("close", () => {
      // A channel-level error (not a lost connection) closes only this channel: replace it in the pool.
      if (this.publishChannels[index] !== channel || this.model !== model || this.state !== "connected") return;
      this.openPublishChannel(model, index)
        .then((fresh) => {
          if (this.model === model) this.publishChannels[index] = fresh;
        })
        .catch((error: unknown) => this.logger.warn("could not reopen a RabbitMQ publish channel", { error: errorMessage(error) }));
    });
    return channel;
  }

  private send(entry: OutboxEntry): void {
    if (this.state !== "connected") {
      // Already accepted by publish(): back into the outbox even past its bound, so nothing is dropped.
      this.outbox.unshift(entry);
      return;
    }
    const channel = this.publishChannels[this.nextChannel++ % this.publishChannels.length];
    if (!channel) {
      this.outbox.unshift(entry);
      return;
    }

    this.unconfirmed += 1;
    try {
      channel.publish(entry.exchange, entry.routingKey, entry.content, entry.options, (error: unknown) => {
        this.unconfirmed -= 1;
        if (error == null) {
          entry.resolve();
          return;
        }
        this.retrySend(entry, error);
      });
    } catch (error) {
      // amqplib throws synchronously when the channel is already closed.
      this.unconfirmed -= 1;
      this.retrySend(entry, error);
    }
  }

  private retrySend(entry: OutboxEntry, error: unknown): void {
    entry.failures += 1;
    if (entry.failures >= MAX_SEND_FAILURES) {
      entry.reject(
        rabbitError(
          `Publish to exchange "${entry.exchange}" with routing key "${entry.routingKey}" failed ${entry.failures} times: ${errorMessage(error)}. Check that the exchange exists and the broker accepts the message.`,
          "UNAVAILABLE",
          entry.role,
          { retryable: true, cause: error },
        ),
      );
      return;
    }
    // A nack or a closed channel: send again once a channel (or the next connection) is there.
    setTimeout(() => this.send(entry), 10 * entry.failures).unref?.();
  }

  private flushOutbox(): void {
    if (this.outbox.length === 0) return;
    const entries = this.outbox.splice(0);
    this.logger.info("sending publishes queued while RabbitMQ was away", { count: entries.length });
    for (const entry of entries) this.send(entry);
  }

  private onConnectionClosed(model: ChannelModel, error?: Error): void {
    if (this.model !== model) return;
    this.model = undefined;
    this.publishChannels = [];
    this.adminChannel = undefined;
    for (const hook of this.hooks) hook.onDisconnect?.();
    if (this.state === "closed") return;

    this.state = "reconnecting";
    this.lostAt = Date.now();
    this.lastError = error ? maskUrl(error.message) : "closed by the broker";
    this.reconnectAttempts = 0;
    this.logger.warn("RabbitMQ connection lost; reconnecting", { url: this.options.maskedUrl, error: this.lastError });
    this.scheduleReconnect();
  }

  private scheduleReconnect(): void {
    if (this.state !== "reconnecting") return;
    const delayMs = computeBackoffMs(this.reconnectAttempts + 1, {
      baseMs: this.options.reconnectInitialDelayMs,
      maxMs: Math.max(this.options.reconnectMaxDelayMs, this.options.reconnectInitialDelayMs),
    });
    this.reconnectTimer = setTimeout(() => {
      this.reconnectAttempts += 1;
      this.connecting = this.open()
        .then(() => {
          this.logger.info("reconnected to RabbitMQ", { url: this.options.maskedUrl, attempts: this.reconnectAttempts, downMs: Date.now() - (this.lostAt ?? Date.now()) });
          this.lostAt = undefined;
        })
        .catch((reason: unknown) => {
          this.lastError = maskUrl(errorMessage(reason));
          if (this.reconnectAttempts === 1 || this.reconnectAttempts % 10 === 0) {
            this.logger.warn("RabbitMQ reconnect attempt failed", { attempt: this.reconnectAttempts, error: this.lastError, outbox: this.outbox.length });
          }
          this.scheduleReconnect();
        })
        .finally(() => {
          this.connecting = undefined;
        });
    }, delayMs);
  }

  private closedError(role: RoleName | undefined) {
    return rabbitError(
      this.state === "idle"
        ? `RabbitMQ integration "${this.options.name}" is not started. Call bridge.start() (or integration.start()) first.`
        : `RabbitMQ integration "${this.options.name}" is closed. Create a new Bridge to publish again.`,
      "CLOSED",
      role,
    );
  }

  private outboxFullError(request: PublishRequest) {
    return rabbitError(
      `RabbitMQ at ${this.options.maskedUrl} is unreachable and the outbox is full (${this.options.outboxSize} publishes), so the publish to exchange "${request.exchange}" with routing key "${request.routingKey}" was rejected. Retry later or raise RABBITMQ_OUTBOX_SIZE.`,
      "OUTBOX_FULL",
      request.role,
      { retryable: true, details: { outboxSize: this.options.outboxSize, exchange: request.exchange, routingKey: request.routingKey } },
    );
  }
}

export function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

function withHeartbeat(url: string, heartbeatSeconds: number): string {
  const parsed = new URL(url);
  if (!parsed.searchParams.has("heartbeat")) parsed.searchParams.set("heartbeat", String(heartbeatSeconds));
  return parsed.toString();
}
