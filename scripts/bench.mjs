#!/usr/bin/env node
// Runs one benchmark suite of one provider: `pnpm bench <suite> [--provider NAME] [--quick]`.
// Each provider keeps its suites in packages/<provider>/bench/<suite>.mjs and
// prints `BENCH {...}` lines; this script only finds and runs them after a build.
import { spawnSync } from "node:child_process";
import { existsSync, readdirSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const args = process.argv.slice(2);
const suite = args.find((arg) => !arg.startsWith("--"));
const providerIndex = args.indexOf("--provider");
const provider = providerIndex >= 0 ? args[providerIndex + 1] : "core";
const passThrough = args.filter((arg, index) => arg !== suite && index !== providerIndex && index !== providerIndex + 1);

function available() {
  const rows = [];
  for (const name of readdirSync(join(root, "packages"))) {
    const folder = join(root, "packages", name, "bench");
    if (!existsSync(folder)) continue;
    for (const file of readdirSync(folder)) if (file.endsWith(".mjs")) rows.push(`${file.replace(/\.mjs$/, "")} --provider ${name}`);
  }
  return rows;
}

if (!suite) {
  console.error(`Usage: pnpm bench <suite> [--provider NAME] [--quick]\nAvailable:\n  ${available().join("\n  ") || "(none)"}`);
  process.exit(2);
}

const script = join(root, "packages", provider === "embedded" ? "core" : provider, "bench", `${suite}.mjs`);
if (!existsSync(script)) {
  console.error(`No benchmark "${suite}" for provider "${provider}" (looked for ${script}).\nAvailable:\n  ${available().join("\n  ") || "(none)"}`);
  process.exit(2);
}

const build = spawnSync("pnpm", ["exec", "turbo", "run", "build", `--filter=./packages/${provider === "embedded" ? "core" : provider}...`], {
  cwd: root,
  stdio: ["ignore", "inherit", "inherit"],
});
if (build.status !== 0) process.exit(build.status ?? 1);

const run = spawnSync(process.execPath, ["--expose-gc", script, ...passThrough], { cwd: root, stdio: "inherit" });
process.exit(run.status ?? 1);
