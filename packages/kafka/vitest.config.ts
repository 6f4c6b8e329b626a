import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    testTimeout: 30_000,
    hookTimeout: 30_000,
    // The fault test restarts the shared broker, which would break cases running in parallel files.
    fileParallelism: false,
  },
});
