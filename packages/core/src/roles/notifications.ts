export interface Notification<T = unknown> {
  id: string;
  /** Dot-separated routing key such as `order.confirmed`. */
  type: string;
  tenantId: string;
  payload: T;
  /** ISO 8601. */
  occurredAt: string;
  correlationId?: string;
  traceparent?: string;
}

export interface SubscribeOptions {
  /** Subscribers sharing a group compete: each notification reaches one of them. Without a group every subscriber gets every notification. */
  group?: string;
  /** Deliver notifications published from this time on, where the provider declares `replay`. */
  from?: Date | string;
}

export interface NotificationSubscription {
  readonly pattern: string;
  close(): Promise<void>;
}

export interface NotificationsCapabilities {
  groups: boolean;
  replay: boolean;
  persistent: boolean;
}

export type NotificationHandler<T = unknown> = (notification: Notification<T>) => Promise<void> | void;

export interface NotificationsRole {
  readonly capabilities: NotificationsCapabilities;
  publish<T>(type: string, payload: T, options?: { tenantId?: string; correlationId?: string }): Promise<Notification<T>>;
  /** Patterns use `*` for exactly one word and `#` for zero or more words, as AMQP topic exchanges do. */
  subscribe<T = unknown>(pattern: string, handler: NotificationHandler<T>, options?: SubscribeOptions): Promise<NotificationSubscription>;
  close(): Promise<void>;
}
