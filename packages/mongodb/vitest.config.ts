import { fileURLToPath } from "node:url";
import { defineConfig } from "vitest/config";

export default defineConfig({
  resolve: {
    // Test against the source of core and the kit, so a change there needs no rebuild before these tests.
    alias: {
      "@bridge/core": fileURLToPath(new URL("../core/src/index.ts", import.meta.url)),
      "@bridge/testkit/services": fileURLToPath(new URL("../testkit/src/services.ts", import.meta.url)),
      "@bridge/testkit": fileURLToPath(new URL("../testkit/src/index.ts", import.meta.url)),
    },
  },
  test: {
    include: ["test/**/*.test.ts"],
    testTimeout: 30_000,
    hookTimeout: 30_000,
  },
});
