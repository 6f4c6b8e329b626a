// Types of conformance-lib.mjs for the TypeScript tests that import it.

export interface ConformanceFileGroup {
  packageDir: string;
  files: string[];
}

export interface VitestJsonAssertion {
  ancestorTitles: string[];
  fullName: string;
  title: string;
  status: "passed" | "failed" | "skipped" | "pending" | "todo" | "disabled";
  failureMessages: string[];
  meta?: { conformance?: { role: string; provider: string; capabilities: Record<string, unknown> } };
}

export interface VitestJsonReport {
  success: boolean;
  numFailedTests: number;
  testResults: Array<{ name: string; status: string; message: string; assertionResults: VitestJsonAssertion[] }>;
}

export interface VitestRun {
  report: VitestJsonReport | null;
  exitCode: number | null;
  output: string;
}

export interface RoleSummary {
  provider: string;
  role: string;
  package: string;
  passed: number;
  failed: number;
  skipped: number;
  /** True when none of the role's cases ran and a server it needs was unreachable. */
  servicesSkipped: boolean;
  capabilities: Record<string, unknown> | null;
  failedCases: string[];
}

/** A `describeWithService` block that did not run because its server was unreachable. */
export interface ServiceSkip {
  package: string;
  file: string;
  service: string;
  address: string;
  reason: string | null;
  /** Provider and role when the block declared its suites; null otherwise. */
  provider: string | null;
  role: string | null;
}

export interface PackageSummary {
  groups: RoleSummary[];
  errors: RunError[];
  servicesSkipped?: ServiceSkip[];
}

export interface RunError {
  /** null when the runner failed before it reached a package. */
  package: string | null;
  file: string | null;
  message: string;
}

export interface ConformanceResult {
  ok: boolean;
  /** Whether BRIDGE_REQUIRE_SERVICES=1 was set, which makes any skipped server fail `ok`. */
  requireServices: boolean;
  passed: number;
  failed: number;
  skipped: number;
  providers: Record<string, Record<string, Omit<RoleSummary, "provider" | "role">>>;
  servicesSkipped: ServiceSkip[];
  errors: RunError[];
}

export function findConformanceFiles(root: string): Promise<ConformanceFileGroup[]>;
export function runVitestJson(options: {
  packageDir: string;
  files: string[];
  configFile?: string;
  timeoutMs?: number;
  env?: NodeJS.ProcessEnv;
  echo?: boolean;
}): Promise<VitestRun>;
export function summarizeReport(report: VitestJsonReport, packageName: string): Required<PackageSummary>;
export function buildConformanceResult(summaries: PackageSummary[], options?: { requireServices?: boolean }): ConformanceResult;
