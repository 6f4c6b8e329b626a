import type { Channel, ChannelModel, ConsumeMessage } from "amqplib";
import type { RoleName } from "@bridge/core";
import { errorMessage, type AmqpConnection, type ConnectionHook } from "./connection.js";

export interface SubscriptionSpec {
  role: RoleName;
  /** Label for log lines, such as the pattern. */
  label: string;
  /** Declares and binds the queue on `channel` and returns its name; runs again after every reconnect. */
  declare(channel: Channel): Promise<string>;
  prefetch: number;
  noAck: boolean;
  /** Handles one delivery; messages are handled one at a time in delivery order. */
  onMessage(message: ConsumeMessage, channel: Channel, isLive: () => boolean): Promise<void>;
}

/**
 * A consumer on a queue of its own (server-named and exclusive, or a durable
 * group queue) that declares, binds and consumes again on each new connection.
 */
export class BrokerSubscription {
  private channel: Channel | undefined;
  private live = { value: false };
  private chain: Promise<void> = Promise.resolve();
  private closed = false;
  private readonly hook: ConnectionHook;

  constructor(
    private readonly connection: AmqpConnection,
    private readonly spec: SubscriptionSpec,
  ) {
    this.hook = {
      onConnect: (model) => this.reopen(model),
      onDisconnect: () => {
        this.live.value = false;
        this.channel = undefined;
      },
    };
  }

  async start(): Promise<void> {
    await this.open();
    this.connection.addHook(this.hook);
  }

  /**
   * Subscribes again on a new connection. A channel-level refusal (the queue
   * was re-created with other arguments, or is exclusive to another
   * connection) is logged and retried later instead of failing the reconnect
   * of every role.
   */
  private async reopen(model: ChannelModel): Promise<void> {
    try {
      await this.open(model);
    } catch (error) {
      const code = (error as { code?: unknown }).code;
      if (typeof code !== "number" || code < 403 || code > 406) throw error;
      this.connection.logger.error("could not subscribe again after reconnecting; retrying once in 5 s", { subscription: this.spec.label, error: errorMessage(error) });
      const retry = setTimeout(() => void this.open().catch((again: unknown) => this.connection.logger.error("RabbitMQ subscription is still not active; close it and subscribe again", { subscription: this.spec.label, error: errorMessage(again) })), 5_000);
      retry.unref?.();
    }
  }

  private async open(model?: ChannelModel): Promise<void> {
    if (this.closed) return;
    const channel = model ? await model.createChannel() : await this.connection.createChannel(this.spec.role);
    const live = { value: true };
    channel.on("error", (error: Error) => this.connection.logger.warn("RabbitMQ subscription channel closed by an error", { subscription: this.spec.label, error: error.message }));
    channel.on("close", () => {
      live.value = false;
      if (!this.closed && this.channel === channel && this.connection.state === "connected") {
        this.channel = undefined;
        setTimeout(() => void this.open().catch((error: unknown) => this.connection.logger.error("could not resume a RabbitMQ subscription", { subscription: this.spec.label, error: errorMessage(error) })), 100);
      }
    });
    try {
      await channel.prefetch(this.spec.prefetch);
      const queue = await this.spec.declare(channel);
      const isLive = () => live.value;
      await channel.consume(
        queue,
        (message) => {
          if (message === null) return;
          this.chain = this.chain.then(() => {
            // Deliveries queued before close() are skipped; unacked ones return to the queue with the channel.
            if (this.closed) return;
            return this.spec.onMessage(message, channel, isLive).catch((error: unknown) =>
              this.connection.logger.error("RabbitMQ subscription failed to handle a message", { subscription: this.spec.label, error: errorMessage(error) }),
            );
          });
        },
        { noAck: this.spec.noAck },
      );
    } catch (error) {
      live.value = false;
      await channel.close().catch(() => undefined);
      throw error;
    }
    this.channel = channel;
    this.live = live;
  }

  /** Stops consuming; an exclusive queue goes away with its channel, a durable group queue stays. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.connection.removeHook(this.hook);
    const channel = this.channel;
    this.channel = undefined;
    if (channel && this.live.value) {
      this.live.value = false;
      await channel.close().catch(() => undefined);
    }
  }
}
