import { defineConfig } from "tsup";

export default defineConfig({
  entry: ["src/index.ts", "src/services.ts"],
  format: ["esm", "cjs"],
  dts: true,
  sourcemap: true,
  clean: true,
  target: "node20",
  // The suites register tests with the provider's own vitest; a bundled copy would register nothing.
  external: ["vitest", "@bridge/core"],
});
