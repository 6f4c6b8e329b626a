import { defineConfig } from "tsup";

export default defineConfig({
  entry: ["src/index.ts"],
  format: ["esm", "cjs"],
  dts: true,
  sourcemap: true,
  clean: true,
  target: "node20",
  // zones.ts resolves the us-atlas data with import.meta.url, which the CJS build needs a shim for.
  shims: true,
});
