// Helpers of the conformance runner: find the conformance test files of a
// repository, run one package's vitest on them with the JSON reporter, and
// count results per provider and role from the suite titles and task meta.
import { execFile } from "node:child_process";
import { mkdtemp, readdir, readFile, rm } from "node:fs/promises";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";

/** Same pattern as `conformanceTitle` in src/titles.ts. */
const TITLE_PATTERN = /^conformance\[([a-z]+)\] provider=(\S+)$/;
/** Same form as `skippedServiceTitle` in src/services.ts: service, address and optional reason. */
const SERVICE_SKIP_PATTERN = /^needs ([a-z]+) at (.+?)(?: \((.*)\))?$/;
const SKIPPED_STATUSES = new Set(["skipped", "pending", "todo", "disabled"]);

/**
 * Returns the `*.conformance.test.ts` files under `packages/<name>/test/`,
 * grouped by package directory, both sorted.
 */
export async function findConformanceFiles(root) {
  const packagesDir = join(root, "packages");
  const groups = [];
  for (const entry of (await readdir(packagesDir, { withFileTypes: true })).sort((a, b) => a.name.localeCompare(b.name))) {
    if (!entry.isDirectory()) continue;
    const packageDir = join(packagesDir, entry.name);
    const files = await listFiles(join(packageDir, "test"), (name) => name.endsWith(".conformance.test.ts"));
    if (files.length > 0) groups.push({ packageDir, files: files.sort() });
  }
  return groups;
}

async function listFiles(dir, accept) {
  let entries;
  try {
    entries = await readdir(dir, { withFileTypes: true });
  } catch (error) {
    if (error.code === "ENOENT") return [];
    throw error;
  }
  const files = [];
  for (const entry of entries) {
    if (entry.name === "node_modules") continue;
    const path = join(dir, entry.name);
    if (entry.isDirectory()) files.push(...(await listFiles(path, accept)));
    else if (accept(entry.name)) files.push(path);
  }
  return files;
}

/**
 * Runs the vitest that `packageDir` depends on, over `files`, and returns the
 * parsed JSON report (null when vitest wrote none) with the exit code and output.
 * `configFile` picks another config than the package's default.
 */
export async function runVitestJson({ packageDir, files, configFile, timeoutMs = 600_000, env = process.env, echo = false }) {
  const require = createRequire(join(packageDir, "package.json"));
  let vitestBin;
  try {
    vitestBin = join(require.resolve("vitest/package.json"), "..", "vitest.mjs");
  } catch {
    return { report: null, exitCode: null, output: `vitest is not installed in ${packageDir}: add it to devDependencies and run pnpm install` };
  }

  const outputDir = await mkdtemp(join(tmpdir(), "bridge-conformance-"));
  const outputFile = join(outputDir, "report.json");
  const args = [
    vitestBin,
    "run",
    "--reporter=default",
    "--reporter=json",
    `--outputFile.json=${outputFile}`,
    ...(configFile ? ["--config", configFile] : []),
    ...files.map((file) => relative(packageDir, file)),
  ];

  try {
    const { exitCode, output } = await new Promise((resolve) => {
      const child = execFile(process.execPath, args, { cwd: packageDir, env, timeout: timeoutMs, maxBuffer: 64 * 1024 * 1024 }, (error, stdout, stderr) => {
        resolve({ exitCode: error ? (typeof error.code === "number" ? error.code : 1) : 0, output: `${stdout}${stderr}` });
      });
      if (echo) {
        child.stdout?.pipe(process.stdout);
        child.stderr?.pipe(process.stderr);
      }
    });
    let report = null;
    try {
      report = JSON.parse(await readFile(outputFile, "utf8"));
    } catch {
      // vitest wrote no report, for example because the config failed to load. `output` contains the reason.
    }
    return { report, exitCode, output };
  } finally {
    await rm(outputDir, { recursive: true, force: true });
  }
}

/**
 * Counts the cases of a vitest JSON report per provider and role. A case
 * belongs to the suite whose title (`conformance[role] provider=name`) is
 * among its ancestors. Other cases count only when they fail: they go to
 * `errors`, like test files that failed without running a case (a syntax
 * error, a failing import). Skipped placeholders of `describeWithService`
 * (`needs <service> at <address>`) go to `servicesSkipped`, with the
 * provider and role when they sit under a suite title.
 */
export function summarizeReport(report, packageName) {
  const groups = new Map();
  const errors = [];
  const servicesSkipped = [];

  for (const file of report.testResults ?? []) {
    if (file.status === "failed" && (file.assertionResults ?? []).length === 0) {
      errors.push({ package: packageName, file: file.name, message: file.message || "the test file failed before any case ran" });
    }
    for (const result of file.assertionResults ?? []) {
      const suite = (result.ancestorTitles ?? []).map((title) => TITLE_PATTERN.exec(title)).find(Boolean);
      const skipped = SKIPPED_STATUSES.has(result.status);
      const service = skipped ? SERVICE_SKIP_PATTERN.exec(result.title) : null;
      if (service) {
        const [, name, address, reason] = service;
        servicesSkipped.push({
          package: packageName,
          file: file.name,
          service: name,
          address,
          reason: reason ?? null,
          provider: suite ? suite[2] : null,
          role: suite ? suite[1] : null,
        });
      }

      if (!suite) {
        if (result.status === "failed") {
          const firstLine = (result.failureMessages ?? [])[0]?.split("\n")[0] ?? "no failure message";
          errors.push({ package: packageName, file: file.name, message: `${result.fullName} failed: ${firstLine}` });
        }
        continue;
      }
      const [, role, provider] = suite;
      const key = `${provider}\u0000${role}`;
      if (!groups.has(key)) {
        groups.set(key, { provider, role, package: packageName, passed: 0, failed: 0, skipped: 0, servicesSkipped: false, capabilities: null, failedCases: [] });
      }
      const group = groups.get(key);
      if (result.status === "passed") group.passed += 1;
      else if (result.status === "failed") {
        group.failed += 1;
        group.failedCases.push(caseName(result, suite[0]));
      } else if (skipped) group.skipped += 1;
      if (service) group.servicesSkipped = true;

      const declared = result.meta?.conformance?.capabilities;
      if (declared && group.capabilities === null) group.capabilities = declared;
    }
  }
  // A role counts as skipped for a missing server only when none of its cases ran.
  for (const group of groups.values()) group.servicesSkipped = group.servicesSkipped && group.passed + group.failed === 0;
  return { groups: [...groups.values()], errors, servicesSkipped };
}

/** Case title below the suite title, such as `engagements > tenants are isolated`. */
function caseName(result, suiteTitle) {
  const titles = result.ancestorTitles ?? [];
  const below = titles.slice(titles.indexOf(suiteTitle) + 1);
  return [...below, result.title].join(" > ");
}

/**
 * Merges package summaries into the object the runner prints after
 * `CONFORMANCE `: providers → roles → counts and capabilities. With
 * `requireServices` (BRIDGE_REQUIRE_SERVICES=1) a block skipped for an
 * unreachable server makes `ok` false, as a failed case does.
 */
export function buildConformanceResult(summaries, { requireServices = false } = {}) {
  const providers = {};
  const errors = [];
  const servicesSkipped = [];
  let passed = 0;
  let failed = 0;
  let skipped = 0;
  for (const summary of summaries) {
    errors.push(...summary.errors);
    servicesSkipped.push(...(summary.servicesSkipped ?? []));
    for (const group of summary.groups) {
      providers[group.provider] ??= {};
      const existing = providers[group.provider][group.role];
      if (existing) {
        existing.passed += group.passed;
        existing.failed += group.failed;
        existing.skipped += group.skipped;
        existing.servicesSkipped = (existing.servicesSkipped || group.servicesSkipped) && existing.passed + existing.failed === 0;
        existing.failedCases.push(...group.failedCases);
        existing.capabilities ??= group.capabilities;
      } else {
        providers[group.provider][group.role] = {
          package: group.package,
          passed: group.passed,
          failed: group.failed,
          skipped: group.skipped,
          servicesSkipped: group.servicesSkipped ?? false,
          capabilities: group.capabilities,
          failedCases: [...group.failedCases],
        };
      }
      passed += group.passed;
      failed += group.failed;
      skipped += group.skipped;
    }
  }
  const ok = failed === 0 && errors.length === 0 && !(requireServices && servicesSkipped.length > 0);
  return { ok, requireServices, passed, failed, skipped, providers, servicesSkipped, errors };
}
