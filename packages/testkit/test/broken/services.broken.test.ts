// With BRIDGE_REQUIRE_SERVICES=1 a missing server fails the run instead of
// skipping. kit-can-fail.test.ts runs this file in a child vitest.
import { createServer, type AddressInfo } from "node:net";
import { it } from "vitest";
import { describeWithService } from "../../src/services.js";

const server = createServer();
await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
const port = (server.address() as AddressInfo).port;
await new Promise<void>((resolve) => server.close(() => resolve()));

describeWithService(
  "redis",
  "required redis block",
  () => {
    it("needs redis", () => undefined);
  },
  { env: { REDIS_URL: `redis://127.0.0.1:${port}`, BRIDGE_REQUIRE_SERVICES: "1" }, timeoutMs: 200 },
);
