// Blocks whose server is missing. With BRIDGE_REQUIRE_SERVICES=1 they fail
// the run; without it they are skipped, and the runner reports which provider
// and role did not run. kit-can-fail.test.ts runs this file in a child vitest.
import { createServer, type AddressInfo } from "node:net";
import { describeWithService } from "../../src/services.js";

const server = createServer();
await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
const port = (server.address() as AddressInfo).port;
await new Promise<void>((resolve) => server.close(() => resolve()));

const offline = { REDIS_URL: `redis://127.0.0.1:${port}` };
const neverCalled = () => {
  throw new Error("describeWithService called the body of a block whose server is unreachable");
};

describeWithService("redis", "required redis block", neverCalled, { env: { ...offline, BRIDGE_REQUIRE_SERVICES: "1" }, timeoutMs: 200 });

describeWithService("redis", "required redis suite", neverCalled, {
  env: { ...offline, BRIDGE_REQUIRE_SERVICES: "1" },
  timeoutMs: 200,
  suites: [{ role: "queue", provider: "required-broker" }],
});

describeWithService("redis", "optional redis suite", neverCalled, {
  env: offline,
  timeoutMs: 200,
  suites: [{ role: "queue", provider: "offline-broker" }],
});
