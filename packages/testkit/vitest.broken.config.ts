import { fileURLToPath } from "node:url";
import { defineConfig } from "vitest/config";

// Runs only the deliberately broken providers; kit-can-fail.test.ts starts it in a child vitest.
export default defineConfig({
  resolve: {
    alias: { "@bridge/core": fileURLToPath(new URL("../core/src/index.ts", import.meta.url)) },
  },
  test: {
    include: ["test/broken/**/*.test.ts"],
    // No testTimeout: vitest's default of 5000 ms shows whether the suites' own case timeouts apply.
  },
});
