import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    // The health test turns the shared cluster yellow for a moment, which other files' cases would see.
    fileParallelism: false,
  },
});
