import { createServer, connect as netConnect, type AddressInfo, type Server, type Socket } from "node:net";
import { connect } from "amqplib";
import type { Logger } from "@bridge/core";
import { describeWithService } from "@bridge/testkit";
import { DEFAULT_DELAY_LEVELS_MS, taskQueueNames } from "../src/index.js";

/** Same variable and default as the testkit's reachability check. */
export const RABBITMQ_URL = process.env.RABBITMQ_URL?.trim() || "amqp://guest:guest@127.0.0.1:5672";

/** Registers a describe block that runs only when the local RabbitMQ is reachable (and fails under BRIDGE_REQUIRE_SERVICES=1). */
export function describeWithRabbitMQ(title: string, body: () => void): void {
  describeWithService("rabbitmq", title, () => body());
}

/** Creates a logger that keeps each line as text, so tests can check what was logged. */
export function testLogger(): { logger: Logger; lines: string[] } {
  const lines: string[] = [];
  const make = (bindings: Record<string, unknown>): Logger => {
    const write = (level: string) => (message: string, fields?: Record<string, unknown>) => {
      lines.push(`${level} ${message} ${JSON.stringify({ ...bindings, ...fields }, (_, value: unknown) => (value instanceof Error ? value.message : value))}`);
    };
    return {
      trace: write("trace"),
      debug: write("debug"),
      info: write("info"),
      warn: write("warn"),
      error: write("error"),
      fatal: write("fatal"),
      child: (more) => make({ ...bindings, ...more }),
    };
  };
  return { logger: make({}), lines };
}

/** Deletes the queues and exchanges the queue role declared under `prefix` for `tasks`. */
export async function deleteTopology(prefix: string, tasks: string[], exchanges: string[] = []): Promise<void> {
  const connection = await connect(RABBITMQ_URL);
  try {
    const channel = await connection.createChannel();
    for (const task of tasks) {
      const names = taskQueueNames(prefix, task, DEFAULT_DELAY_LEVELS_MS);
      for (const queue of [names.work, names.deadLetter, ...names.wait.values()]) await channel.deleteQueue(queue);
    }
    for (const exchange of [`${prefix}.jobs`, `${prefix}.dlx`, ...exchanges]) await channel.deleteExchange(exchange);
    await channel.close();
  } finally {
    await connection.close();
  }
}

/** Publishes bytes to the jobs exchange the way another program would, bypassing Bridge. */
export async function publishForeign(prefix: string, task: string, raw: string | Buffer): Promise<void> {
  const connection = await connect(RABBITMQ_URL);
  try {
    const channel = await connection.createConfirmChannel();
    channel.publish(`${prefix}.jobs`, task, Buffer.isBuffer(raw) ? raw : Buffer.from(raw));
    await channel.waitForConfirms();
  } finally {
    await connection.close();
  }
}

/** Deletes exchanges and queues by name; names that do not exist are skipped. */
export async function deleteExchanges(exchanges: string[], queues: string[] = []): Promise<void> {
  const connection = await connect(RABBITMQ_URL);
  try {
    const channel = await connection.createChannel();
    for (const queue of queues) await channel.deleteQueue(queue);
    for (const exchange of exchanges) await channel.deleteExchange(exchange);
    await channel.close();
  } finally {
    await connection.close();
  }
}

/**
 * Creates a TCP proxy on 127.0.0.1 in front of the local RabbitMQ, so a test
 * can cut every connection and refuse new ones (`cut`), then let them through
 * again (`restore`), without restarting the broker.
 */
export async function startBrokerProxy(): Promise<{ url: string; cut(): Promise<void>; restore(): Promise<void>; close(): Promise<void> }> {
  const target = new URL(RABBITMQ_URL);
  const targetPort = Number(target.port || 5672);
  const sockets = new Set<Socket>();
  let server = createProxyServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as AddressInfo).port;

  function createProxyServer(): Server {
    return createServer((client) => {
      const upstream = netConnect(targetPort, target.hostname);
      sockets.add(client);
      sockets.add(upstream);
      client.pipe(upstream).pipe(client);
      const drop = () => {
        client.destroy();
        upstream.destroy();
        sockets.delete(client);
        sockets.delete(upstream);
      };
      client.on("error", drop);
      upstream.on("error", drop);
      client.on("close", drop);
      upstream.on("close", drop);
    });
  }

  async function cut(): Promise<void> {
    await new Promise<void>((resolve) => {
      server.close(() => resolve());
      for (const socket of sockets) socket.destroy();
      sockets.clear();
    });
  }

  return {
    url: `amqp://${target.username || "guest"}:${target.password || "guest"}@127.0.0.1:${port}`,
    cut,
    async restore() {
      server = createProxyServer();
      await new Promise<void>((resolve) => server.listen(port, "127.0.0.1", resolve));
    },
    async close() {
      if (server.listening) await cut();
    },
  };
}
