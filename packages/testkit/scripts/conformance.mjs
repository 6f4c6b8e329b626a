#!/usr/bin/env node
// Runs every `packages/*/test/**/*.conformance.test.ts` of the repository with
// each package's own vitest and prints, as the last line, `CONFORMANCE ` and a
// JSON object of passed, failed and skipped cases and the declared
// capabilities per provider and role. Exits with 1 when a case failed or a
// file could not run, and, with BRIDGE_REQUIRE_SERVICES=1, when a server was
// unreachable.
//
// Usage: node scripts/conformance.mjs [--root <repository root>]
import { readFile } from "node:fs/promises";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { buildConformanceResult, findConformanceFiles, runVitestJson, summarizeReport } from "./conformance-lib.mjs";

const rootFlag = process.argv.indexOf("--root");
const root = rootFlag >= 0 && process.argv[rootFlag + 1] ? resolve(process.argv[rootFlag + 1]) : resolve(dirname(fileURLToPath(import.meta.url)), "../../..");

const summaries = [];
let groups = [];
try {
  groups = await findConformanceFiles(root);
} catch (error) {
  summaries.push({ groups: [], errors: [{ package: null, file: null, message: `Cannot list ${join(root, "packages")}: ${error.message}. Pass the repository root with --root.` }] });
}
if (groups.length === 0) {
  console.error(`No *.conformance.test.ts files under ${join(root, "packages", "*", "test")}`);
}

for (const { packageDir, files } of groups) {
  const packageName = JSON.parse(await readFile(join(packageDir, "package.json"), "utf8")).name ?? packageDir;
  console.log(`\n=== ${packageName}: ${files.length} conformance file(s) ===`);
  const run = await runVitestJson({ packageDir, files, echo: true });
  if (run.report === null) {
    summaries.push({ groups: [], errors: [{ package: packageName, file: null, message: `vitest exited with ${run.exitCode} and wrote no JSON report; run it in ${packageDir} to see why` }] });
    continue;
  }
  summaries.push(summarizeReport(run.report, packageName));
}

const result = buildConformanceResult(summaries, { requireServices: process.env.BRIDGE_REQUIRE_SERVICES === "1" });
for (const skip of result.servicesSkipped) {
  const suite = skip.provider === null ? "" : ` (${skip.role} of provider ${skip.provider})`;
  console.log(`NOT RUN: ${relative(root, skip.file)}${suite} needs ${skip.service} at ${skip.address}${skip.reason === null ? "" : `: ${skip.reason}`}`);
}
if (result.servicesSkipped.length > 0 && !result.requireServices) {
  console.log("Cases skipped for an unreachable server count as skipped, not failed. Set BRIDGE_REQUIRE_SERVICES=1 to make them fail the run.");
}
console.log(`CONFORMANCE ${JSON.stringify(result)}`);
process.exitCode = result.ok && groups.length > 0 ? 0 : 1;
