// Reachability checks for the real servers that integration tests run
// against. Each probe sends a few bytes of the server's own protocol, so a
// port held by some other program does not count as the server.
import { connect } from "node:net";
import { describe, it } from "vitest";
import { conformanceTitle, type ConformanceRole } from "./titles.js";

export type ServiceName = "rabbitmq" | "kafka" | "opensearch" | "mongodb" | "redis";

export interface ServiceStatus {
  available: boolean;
  /** The address the tests should use: the environment variable's value, or the default. */
  url: string;
  /** Reason the server counts as unavailable. */
  reason?: string;
}

export interface ProbeOptions {
  /** Maximum time for connecting and reading the response, in ms; 1500 when absent. */
  timeoutMs?: number;
  /** Variables to read the address from; `process.env` when absent. */
  env?: Record<string, string | undefined>;
}

export interface DescribeWithServiceOptions extends ProbeOptions {
  /**
   * Last sentence of the skip or failure message, the step that makes the
   * server reachable, such as "Run `pnpm services:up`." When absent: "Start
   * <product> at <address> or set <variable> to its address."
   */
  hint?: string;
  /**
   * Conformance suites that the block registers. When the server is
   * unreachable, the block's placeholder case goes under each suite's title,
   * so the conformance report names the provider and role that did not run.
   */
  suites?: Array<{ role: ConformanceRole; provider: string }>;
}

interface ServiceSpec {
  product: string;
  variable: string;
  defaultUrl: string;
}

export const SERVICES: Readonly<Record<ServiceName, ServiceSpec>> = {
  rabbitmq: { product: "RabbitMQ", variable: "RABBITMQ_URL", defaultUrl: "amqp://guest:guest@127.0.0.1:5672" },
  kafka: { product: "Kafka", variable: "KAFKA_BROKERS", defaultUrl: "127.0.0.1:9092" },
  opensearch: { product: "OpenSearch", variable: "OPENSEARCH_NODE", defaultUrl: "http://127.0.0.1:9200" },
  mongodb: { product: "MongoDB", variable: "MONGODB_URI", defaultUrl: "mongodb://127.0.0.1:27017" },
  redis: { product: "Redis", variable: "REDIS_URL", defaultUrl: "redis://127.0.0.1:6379" },
};

const DEFAULT_PORTS: Record<ServiceName, number> = { rabbitmq: 5672, kafka: 9092, opensearch: 9200, mongodb: 27017, redis: 6379 };

/**
 * Checks whether the server is reachable at its configured address (the
 * environment variable in SERVICES, else the default on 127.0.0.1). Never
 * throws: a missing or misconfigured server gives `available: false` and a reason.
 */
export async function requireService(name: ServiceName, options: ProbeOptions = {}): Promise<ServiceStatus> {
  const spec = SERVICES[name];
  if (spec === undefined) {
    return { available: false, url: "", reason: `unknown service ${JSON.stringify(name)}: use one of ${Object.keys(SERVICES).join(", ")}` };
  }
  const env = options.env ?? process.env;
  const url = env[spec.variable]?.trim() || spec.defaultUrl;
  const timeoutMs = options.timeoutMs ?? 1_500;

  let problem: string | undefined;
  try {
    problem = name === "opensearch" ? await probeHttp(url, timeoutMs) : await probeTcp(name, url, timeoutMs);
  } catch (error) {
    problem = error instanceof Error ? error.message : String(error);
  }
  return problem === undefined ? { available: true, url } : { available: false, url, reason: problem };
}

/**
 * Registers a describe block that runs only when the server is reachable.
 * Without the server, `body` is never called, because vitest runs the body of
 * even a skipped describe block while it collects the file, and a body that
 * connects would fail the file. The block then contains one skipped
 * placeholder case, `needs <name> at <address> (<reason>)`, and one console
 * warning names the address. With BRIDGE_REQUIRE_SERVICES=1 a failing case
 * `<name> is reachable` takes the placeholder's place.
 */
export function describeWithService(
  name: ServiceName,
  title: string,
  body: (service: ServiceStatus) => void,
  options: DescribeWithServiceOptions = {},
): void {
  // vitest awaits an async describe callback while it collects the file, so the probe runs before any case.
  describe(title, async () => {
    const status = await requireService(name, options);
    if (status.available) {
      body(status);
      return;
    }

    const env = options.env ?? process.env;
    const address = displayAddress(name, status.url);
    const hint = options.hint ?? `Start ${SERVICES[name]?.product ?? name} at ${address} or set ${SERVICES[name]?.variable ?? "its address variable"} to its address.`;
    const problem = `${name} not reachable at ${address} (${status.reason}). ${hint}`;
    if (env.BRIDGE_REQUIRE_SERVICES === "1") {
      registerPlaceholders(options.suites, () =>
        it(`${name} is reachable`, () => {
          throw new Error(`${problem} BRIDGE_REQUIRE_SERVICES=1 makes a missing server fail the run.`);
        }),
      );
      return;
    }
    console.warn(`SKIPPED: ${problem}`);
    registerPlaceholders(options.suites, () => it.skip(skippedServiceTitle(name, address, status.reason), () => undefined));
  });
}

/**
 * Returns the title of the skipped case that stands for a block whose server
 * is unreachable. The conformance runner reads service, address and reason back.
 */
export function skippedServiceTitle(name: ServiceName, address: string, reason?: string): string {
  return reason === undefined ? `needs ${name} at ${address}` : `needs ${name} at ${address} (${reason})`;
}

function registerPlaceholders(suites: DescribeWithServiceOptions["suites"], register: () => void): void {
  if (suites === undefined || suites.length === 0) {
    register();
    return;
  }
  for (const suite of suites) describe(conformanceTitle(suite.role, suite.provider), register);
}

/** host:port of a configured address, without user name or password. */
export function displayAddress(name: ServiceName, url: string): string {
  try {
    const { host, port } = parseAddress(name, url);
    return `${host.includes(":") ? `[${host}]` : host}:${port}`;
  } catch {
    return "an unparseable address";
  }
}

/** First host and port of a configured address. Credentials, database and query are ignored. */
export function parseAddress(name: ServiceName, url: string): { host: string; port: number } {
  const defaultPort = DEFAULT_PORTS[name];
  if (url.startsWith("mongodb+srv://")) {
    throw new Error("mongodb+srv URIs need a DNS SRV lookup, which the probe does not do: set MONGODB_URI to a mongodb:// URI");
  }

  // Kafka takes a comma-separated broker list without a scheme; MongoDB URIs may list several hosts.
  let rest = url.includes("://") ? url.slice(url.indexOf("://") + 3) : url;
  rest = rest.split("/")[0]!.split("?")[0]!;
  rest = rest.slice(rest.lastIndexOf("@") + 1);
  const first = rest.split(",")[0]!.trim();

  const bracketed = /^\[([^\]]+)\](?::(\d+))?$/.exec(first);
  const plain = /^([^:]+)(?::(\d+))?$/.exec(first);
  const match = bracketed ?? plain;
  if (!match || !match[1]) {
    throw new Error(`cannot read host and port from ${JSON.stringify(maskCredentials(url))}`);
  }
  const port = match[2] === undefined ? defaultPort : Number(match[2]);
  if (!Number.isInteger(port) || port < 1 || port > 65_535) {
    throw new Error(`invalid port in ${JSON.stringify(maskCredentials(url))}`);
  }
  return { host: match[1], port };
}

function maskCredentials(url: string): string {
  return url.replace(/\/\/[^/@]*@/, "//***@");
}

async function probeHttp(url: string, timeoutMs: number): Promise<string | undefined> {
  let response: Response;
  try {
    response = await fetch(new URL("/", url), { signal: AbortSignal.timeout(timeoutMs) });
  } catch (error) {
    const cause = (error as { cause?: { code?: string } }).cause;
    if ((error as Error).name === "TimeoutError") return `no HTTP response within ${timeoutMs} ms`;
    return `HTTP request failed: ${cause?.code ?? (error as Error).message}`;
  }
  await response.body?.cancel();
  // 401 means a node with security on: reachable, and the tests will report the credentials problem.
  if (response.ok || response.status === 401) return undefined;
  return `HTTP ${response.status} from GET /`;
}

/** A request that the server responds to at once, and a check that the response comes from that kind of server. */
interface TcpHandshake {
  request: Buffer;
  /** Returns "more" until enough bytes arrived, then undefined for a valid response or the problem. */
  check: (response: Buffer) => string | undefined | "more";
}

function handshakeFor(name: Exclude<ServiceName, "opensearch">): TcpHandshake {
  switch (name) {
    case "rabbitmq":
      return {
        // AMQP 0-9-1 protocol header. The broker responds with a Connection.Start method frame (type 1).
        request: Buffer.from([0x41, 0x4d, 0x51, 0x50, 0, 0, 9, 1]),
        check: (response) => {
          if (response.length < 1) return "more";
          if (response[0] === 1 || response.subarray(0, 4).toString("latin1") === "AMQP") return undefined;
          return "the server did not answer the AMQP protocol header";
        },
      };
    case "kafka":
      return kafkaApiVersions();
    case "mongodb":
      return mongoHello();
    case "redis":
      return {
        request: Buffer.from("*1\r\n$4\r\nPING\r\n"),
        check: (response) => {
          if (response.length < 1) return "more";
          // "-NOAUTH ..." also comes from a Redis server, one that wants a password.
          return response[0] === 0x2b || response[0] === 0x2d ? undefined : "the server did not answer PING like Redis";
        },
      };
  }
}

/** Builds an ApiVersions v0 request. The broker's response carries the same correlation id. */
function kafkaApiVersions(): TcpHandshake {
  const correlationId = 0x42524447;
  const clientId = Buffer.from("bridge-probe");
  const body = Buffer.alloc(2 + 2 + 4 + 2 + clientId.length);
  body.writeInt16BE(18, 0);
  body.writeInt16BE(0, 2);
  body.writeInt32BE(correlationId, 4);
  body.writeInt16BE(clientId.length, 8);
  clientId.copy(body, 10);
  const size = Buffer.alloc(4);
  size.writeInt32BE(body.length);
  return {
    request: Buffer.concat([size, body]),
    check: (response) => {
      if (response.length < 8) return "more";
      return response.readInt32BE(4) === correlationId ? undefined : "the server did not answer a Kafka ApiVersions request";
    },
  };
}

/** Builds an OP_MSG with `{ hello: 1, $db: "admin" }`. The reply's responseTo equals the request id. */
function mongoHello(): TcpHandshake {
  const requestId = 0x4252;
  const document = bsonDocument([
    [0x10, "hello", int32(1)],
    [0x02, "$db", bsonString("admin")],
  ]);
  const flagsAndSection = Buffer.concat([int32(0), Buffer.from([0]), document]);
  const header = Buffer.alloc(16);
  header.writeInt32LE(16 + flagsAndSection.length, 0);
  header.writeInt32LE(requestId, 4);
  header.writeInt32LE(0, 8);
  header.writeInt32LE(2013, 12);
  return {
    request: Buffer.concat([header, flagsAndSection]),
    check: (response) => {
      if (response.length < 16) return "more";
      return response.readInt32LE(8) === requestId ? undefined : "the server did not answer a MongoDB hello";
    },
  };
}

function int32(value: number): Buffer {
  const buffer = Buffer.alloc(4);
  buffer.writeInt32LE(value);
  return buffer;
}

function bsonString(value: string): Buffer {
  const bytes = Buffer.from(`${value}\0`, "utf8");
  return Buffer.concat([int32(bytes.length), bytes]);
}

function bsonDocument(elements: Array<[type: number, key: string, value: Buffer]>): Buffer {
  const body = Buffer.concat(elements.map(([type, key, value]) => Buffer.concat([Buffer.from([type]), Buffer.from(`${key}\0`), value])));
  return Buffer.concat([int32(4 + body.length + 1), body, Buffer.from([0])]);
}

function probeTcp(name: Exclude<ServiceName, "opensearch">, url: string, timeoutMs: number): Promise<string | undefined> {
  const { host, port } = parseAddress(name, url);
  const handshake = handshakeFor(name);

  return new Promise((resolve) => {
    let response = Buffer.alloc(0);
    let settled = false;
    const socket = connect({ host, port });
    const finish = (problem: string | undefined) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      resolve(problem);
    };
    const timer = setTimeout(() => finish(`no response within ${timeoutMs} ms`), timeoutMs);

    socket.once("connect", () => socket.write(handshake.request));
    socket.on("data", (chunk: Buffer) => {
      response = Buffer.concat([response, chunk]);
      const result = handshake.check(response);
      if (result !== "more") finish(result);
    });
    socket.once("error", (error: NodeJS.ErrnoException) => finish(`connection failed: ${error.code ?? error.message}`));
    socket.once("close", () => finish("the server closed the connection without responding"));
  });
}
