// Probes against small servers on 127.0.0.1, started here, that respond like the real ones.
import { createServer as createHttpServer } from "node:http";
import { createServer, type AddressInfo, type Server, type Socket } from "node:net";
import { afterAll, describe, expect, it, vi } from "vitest";
import { describeWithService, displayAddress, parseAddress, requireService } from "../src/services.js";

const servers: Array<{ close(): void }> = [];

async function listen(server: Server | ReturnType<typeof createHttpServer>): Promise<number> {
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  servers.push(server);
  return (server.address() as AddressInfo).port;
}

/** Starts a TCP server that responds to the first request with `respond(request)` and returns its port. */
function tcpServer(respond: (request: Buffer) => Buffer | null): Promise<number> {
  return listen(
    createServer((socket: Socket) => {
      socket.once("data", (request) => {
        const reply = respond(request);
        if (reply) socket.write(reply);
      });
      socket.on("error", () => undefined);
    }),
  );
}

/** Returns a port with nothing listening on it, by binding it once and closing it. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as AddressInfo).port;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

const rabbitPort = await tcpServer((request) => (request.subarray(0, 4).toString() === "AMQP" ? Buffer.from([1, 0, 0, 0, 0, 0, 4]) : null));
const kafkaPort = await tcpServer((request) => {
  const reply = Buffer.alloc(8);
  reply.writeInt32BE(4, 0);
  reply.writeInt32BE(request.readInt32BE(8), 4);
  return reply;
});
const mongoPort = await tcpServer((request) => {
  const reply = Buffer.alloc(16);
  reply.writeInt32LE(16, 0);
  reply.writeInt32LE(7, 4);
  reply.writeInt32LE(request.readInt32LE(4), 8);
  reply.writeInt32LE(2013, 12);
  return reply;
});
const redisPort = await tcpServer(() => Buffer.from("+PONG\r\n"));
const httpNotRedisPort = await tcpServer(() => Buffer.from("HTTP/1.1 400 Bad Request\r\n\r\n"));
const silentPort = await tcpServer(() => null);
const openSearchPort = await listen(createHttpServer((_request, response) => response.end(JSON.stringify({ version: { distribution: "opensearch" } }))));
const brokenHttpPort = await listen(
  createHttpServer((_request, response) => {
    response.statusCode = 503;
    response.end();
  }),
);
const offlinePort = await closedPort();

afterAll(() => {
  for (const server of servers) server.close();
});

describe("requireService", () => {
  it("finds servers that answer", async () => {
    const env = {
      RABBITMQ_URL: `amqp://guest:guest@127.0.0.1:${rabbitPort}`,
      KAFKA_BROKERS: `127.0.0.1:${kafkaPort},127.0.0.1:${offlinePort}`,
      MONGODB_URI: `mongodb://127.0.0.1:${mongoPort}/bridge`,
      REDIS_URL: `redis://127.0.0.1:${redisPort}`,
      OPENSEARCH_NODE: `http://127.0.0.1:${openSearchPort}`,
    };
    for (const name of ["rabbitmq", "kafka", "mongodb", "redis", "opensearch"] as const) {
      const status = await requireService(name, { env, timeoutMs: 1_000 });
      expect(status, name).toEqual({ available: true, url: expect.any(String) });
    }
    expect((await requireService("kafka", { env })).url).toBe(env.KAFKA_BROKERS);
  });

  it("reports a refused connection", async () => {
    const status = await requireService("redis", { env: { REDIS_URL: `redis://127.0.0.1:${offlinePort}` } });
    expect(status.available).toBe(false);
    expect(status.reason).toBe("connection failed: ECONNREFUSED");
  });

  it("reports a server that never answers", async () => {
    const status = await requireService("mongodb", { env: { MONGODB_URI: `mongodb://127.0.0.1:${silentPort}` }, timeoutMs: 100 });
    expect(status).toMatchObject({ available: false, reason: "no response within 100 ms" });
  });

  it("reports another protocol on the port", async () => {
    const status = await requireService("redis", { env: { REDIS_URL: `redis://127.0.0.1:${httpNotRedisPort}` } });
    expect(status).toMatchObject({ available: false, reason: "the server did not answer PING like Redis" });
    const rabbit = await requireService("rabbitmq", { env: { RABBITMQ_URL: `amqp://127.0.0.1:${httpNotRedisPort}` } });
    expect(rabbit).toMatchObject({ available: false, reason: "the server did not answer the AMQP protocol header" });
  });

  it("reports an HTTP error status", async () => {
    const status = await requireService("opensearch", { env: { OPENSEARCH_NODE: `http://127.0.0.1:${brokenHttpPort}` } });
    expect(status).toMatchObject({ available: false, reason: "HTTP 503 from GET /" });
  });

  it("reports an unusable address", async () => {
    const status = await requireService("mongodb", { env: { MONGODB_URI: "mongodb+srv://cluster0.example.net/bridge" } });
    expect(status.available).toBe(false);
    expect(status.reason).toMatch(/mongodb\+srv/);
  });
});

describe("parseAddress", () => {
  it("reads the first host and port", () => {
    expect(parseAddress("kafka", "127.0.0.1:9093,127.0.0.1:9094")).toEqual({ host: "127.0.0.1", port: 9093 });
    expect(parseAddress("mongodb", "mongodb://user:p%40ss@[::1]:27018,other:27017/bridge?replicaSet=rs0")).toEqual({ host: "::1", port: 27018 });
    expect(parseAddress("rabbitmq", "amqp://guest:guest@localhost")).toEqual({ host: "localhost", port: 5672 });
    expect(parseAddress("opensearch", "http://127.0.0.1:9200/")).toEqual({ host: "127.0.0.1", port: 9200 });
  });

  it("rejects a bad port", () => {
    expect(() => parseAddress("redis", "redis://127.0.0.1:99999")).toThrow(/invalid port/);
  });

  it("display hides credentials", () => {
    expect(displayAddress("rabbitmq", "amqp://admin:s3cret@127.0.0.1:5672/vhost")).toBe("127.0.0.1:5672");
    expect(displayAddress("mongodb", "mongodb://[::1]:27017")).toBe("[::1]:27017");
  });
});

const warn = vi.spyOn(console, "warn").mockImplementation(() => undefined);

// vitest runs the body of a skipped describe block while it collects the file, so a body
// that connected to the missing server would fail the file. These bodies must never be called.
let offlineBodyCalls = 0;
function offlineBody(): void {
  offlineBodyCalls += 1;
  throw new Error("describeWithService called the body of a block whose server is unreachable");
}

describeWithService("redis", "offline redis block", offlineBody, { env: { REDIS_URL: `redis://127.0.0.1:${offlinePort}` }, timeoutMs: 200 });

describeWithService("redis", "offline redis suites", offlineBody, {
  env: { REDIS_URL: `redis://127.0.0.1:${offlinePort}` },
  timeoutMs: 200,
  hint: "Run `pnpm services:up`.",
  suites: [
    { role: "queue", provider: "redis-queue" },
    { role: "logs", provider: "redis-queue" },
  ],
});

const reached: string[] = [];
describeWithService(
  "redis",
  "online redis block",
  (service) => {
    it("runs with the service address", () => {
      reached.push(service.url);
      expect(service.url).toBe(`redis://127.0.0.1:${redisPort}`);
    });
  },
  { env: { REDIS_URL: `redis://127.0.0.1:${redisPort}` } },
);

/** Name, mode and children of a collected suite or case, for comparing the registered tree. */
interface Registered {
  name: string;
  mode: string;
  tasks?: Registered[];
}

function registered(task: { name: string; mode: string; tasks?: unknown[] }): Registered {
  const children = task.tasks as Array<{ name: string; mode: string; tasks?: unknown[] }> | undefined;
  return children === undefined ? { name: task.name, mode: task.mode } : { name: task.name, mode: task.mode, tasks: children.map(registered) };
}

describe("describeWithService", () => {
  it("never calls an offline body", () => {
    expect(offlineBodyCalls).toBe(0);
  });

  it("registers a skipped placeholder", ({ task }) => {
    const block = task.file.tasks.find((candidate) => candidate.name === "offline redis block");
    expect(block, "the block is registered").toBeDefined();
    expect(registered(block!)).toEqual({
      name: "offline redis block",
      mode: "skip",
      tasks: [{ name: `needs redis at 127.0.0.1:${offlinePort} (connection failed: ECONNREFUSED)`, mode: "skip" }],
    });
  });

  it("places placeholders under suite titles", ({ task }) => {
    const block = task.file.tasks.find((candidate) => candidate.name === "offline redis suites");
    expect(block, "the block is registered").toBeDefined();
    const placeholder = { name: `needs redis at 127.0.0.1:${offlinePort} (connection failed: ECONNREFUSED)`, mode: "skip" };
    expect(registered(block!)).toEqual({
      name: "offline redis suites",
      mode: "skip",
      tasks: [
        { name: "conformance[queue] provider=redis-queue", mode: "skip", tasks: [placeholder] },
        { name: "conformance[logs] provider=redis-queue", mode: "skip", tasks: [placeholder] },
      ],
    });
  });

  it("warns once per skipped block", () => {
    const messages = warn.mock.calls.map((call) => String(call[0]));
    expect(messages).toEqual([
      `SKIPPED: redis not reachable at 127.0.0.1:${offlinePort} (connection failed: ECONNREFUSED). Start Redis at 127.0.0.1:${offlinePort} or set REDIS_URL to its address.`,
      `SKIPPED: redis not reachable at 127.0.0.1:${offlinePort} (connection failed: ECONNREFUSED). Run \`pnpm services:up\`.`,
    ]);
    warn.mockRestore();
  });

  it("ran the reachable block", () => {
    expect(reached).toEqual([`redis://127.0.0.1:${redisPort}`]);
  });
});
