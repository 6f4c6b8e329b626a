// Runs the suites against deliberately broken providers (test/broken/) in a
// child vitest and checks that the cases aimed at each defect fail, while
// cases the defect does not touch still pass.
import { fileURLToPath } from "node:url";
import { beforeAll, describe, expect, it } from "vitest";
import {
  buildConformanceResult,
  runVitestJson,
  summarizeReport,
  type ConformanceResult,
  type RoleSummary,
  type VitestJsonReport,
} from "../scripts/conformance-lib.mjs";

const packageDir = fileURLToPath(new URL("..", import.meta.url));

describe("kit can fail", () => {
  let groups: RoleSummary[] = [];
  let result: ConformanceResult;
  let output = "";
  let report: VitestJsonReport;

  beforeAll(async () => {
    const run = await runVitestJson({
      packageDir,
      files: [],
      configFile: "vitest.broken.config.ts",
      timeoutMs: 170_000,
      // The child is a vitest run of its own, not a worker of this one.
      env: Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.startsWith("VITEST"))),
    });
    output = run.output;
    expect(run.report, `child vitest wrote no JSON report. Output:\n${output.slice(-3_000)}`).not.toBeNull();
    report = run.report!;
    const summary = summarizeReport(report, "@bridge/testkit");
    groups = summary.groups;
    result = buildConformanceResult([summary]);
  }, 180_000);

  /** Failure messages of one case, by the suite's provider and the case title. */
  function failureOf(provider: string, title: string): string {
    const cases = report.testResults.flatMap((file) => file.assertionResults);
    const found = cases.find((result) => result.title === title && result.ancestorTitles.some((ancestor) => ancestor.endsWith(`provider=${provider}`)));
    expect(found, `no case "${title}" of provider ${provider}`).toBeDefined();
    return found!.failureMessages.join("\n");
  }

  function summaryOf(provider: string, role: string): RoleSummary {
    const group = groups.find((candidate) => candidate.provider === provider && candidate.role === role);
    expect(group, `no results for conformance[${role}] provider=${provider}. Output:\n${output.slice(-3_000)}`).toBeDefined();
    return group!;
  }

  it("dropping queue fails delivery cases", () => {
    const summary = summaryOf("drops-every-fifth", "queue");
    expect(summary.failedCases).toContain("competing consumers process each job once");
    expect(summary.failedCases).toContain("batch fetch honours the maximum");
    expect(summary.failedCases, "a round trip publishes one job, which is never dropped").not.toContain("publish and fetch round trip");
    expect(summary.passed).toBeGreaterThan(10);
  });

  it("dropped jobs are counted and named", () => {
    const competing = failureOf("drops-every-fifth", "competing consumers process each job once");
    expect(competing).toMatch(/8 of 40 published jobs were never delivered; missing job ids: [0-9a-f-]{36}(, [0-9a-f-]{36}){7}: expected 8 to be /);
    expect(competing).not.toMatch(/timed out/i);

    const batch = failureOf("drops-every-fifth", "batch fetch honours the maximum");
    expect(batch).toMatch(/1 of 5 published jobs were never delivered/);
    expect(batch).not.toMatch(/timed out/i);
  });

  it("priority-ignoring queue fails the priority case", () => {
    const summary = summaryOf("ignores-priority", "queue");
    expect(summary.failedCases).toContain("higher priority is delivered first");
    expect(summary.failedCases).not.toContain("declares its capabilities");
    expect(summary.capabilities).toMatchObject({ priority: true });
    expect(failureOf("ignores-priority", "higher priority is delivered first")).toMatch(
      /delivery order, as the priorities the jobs were published with \(published in the order 1, 10, 5\)/,
    );
  });

  it("misdeclared queue fails the capability check", () => {
    const summary = summaryOf("misdeclared", "queue");
    expect(summary.failedCases).toEqual(["declares its capabilities"]);
    expect(summary.capabilities).toMatchObject({ orderingByKey: false });
  });

  it("leaking data store fails isolation cases", () => {
    const summary = summaryOf("leaks-tenants", "data");
    expect(summary.failedCases).toContain("engagements > tenants are isolated");
    expect(summary.failedCases).toContain("datastore > tenants are isolated");
    expect(summary.failedCases, "the lifecycle does not depend on tenants").not.toContain("engagements > transitions follow the lifecycle");
  });

  it("missing required service fails", () => {
    const cases = report.testResults.flatMap((file) => file.assertionResults);
    const required = cases.find((result) => result.fullName === "required redis block redis is reachable");
    expect(required?.status).toBe("failed");
    expect(required?.failureMessages.join("\n")).toMatch(
      /redis not reachable at 127\.0\.0\.1:\d+ \(connection failed: ECONNREFUSED\)\. Start Redis at 127\.0\.0\.1:\d+ or set REDIS_URL to its address\./,
    );
    expect(summaryOf("required-broker", "queue")).toMatchObject({ failed: 1, failedCases: ["redis is reachable"], servicesSkipped: false });
  });

  it("missing optional service is reported", () => {
    expect(summaryOf("offline-broker", "queue")).toMatchObject({ passed: 0, failed: 0, skipped: 1, servicesSkipped: true });
    expect(result.servicesSkipped).toEqual([
      expect.objectContaining({ service: "redis", provider: "offline-broker", role: "queue", reason: "connection failed: ECONNREFUSED" }),
    ]);
  });

  it("runner result reports the failures", () => {
    expect(result.ok).toBe(false);
    expect(result.failed).toBe(groups.reduce((sum, group) => sum + group.failed, 0));
    expect(result.providers["ignores-priority"]?.queue?.failed).toBeGreaterThan(0);
    // The required block declared no suites, so its failure is not a role's and goes to errors.
    expect(result.errors).toEqual([
      expect.objectContaining({ message: expect.stringMatching(/^required redis block redis is reachable failed: Error: redis not reachable/) }),
    ]);
  });
});
