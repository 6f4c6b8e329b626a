import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { buildConformanceResult, findConformanceFiles, summarizeReport, type VitestJsonReport } from "../scripts/conformance-lib.mjs";
import { skippedServiceTitle } from "../src/services.js";

function assertion(ancestorTitles: string[], title: string, status: string, capabilities?: Record<string, unknown>) {
  return {
    ancestorTitles,
    fullName: [...ancestorTitles, title].join(" "),
    title,
    status,
    failureMessages: status === "failed" ? ["AssertionError: expected 1 to be 2"] : [],
    ...(capabilities ? { meta: { conformance: { role: "queue", provider: "rabbitmq", capabilities } } } : {}),
  };
}

const REPORT = {
  success: false,
  numFailedTests: 1,
  testResults: [
    {
      name: "/repo/packages/rabbitmq/test/queue.conformance.test.ts",
      status: "failed",
      message: "",
      assertionResults: [
        assertion(["conformance[queue] provider=rabbitmq"], "declares its capabilities", "passed", { priority: true }),
        assertion(["conformance[queue] provider=rabbitmq"], "higher priority is delivered first", "failed", { priority: true }),
        assertion(["conformance[queue] provider=rabbitmq"], "same ordering key keeps publish order", "skipped"),
        assertion(["unrelated describe"], "helper works", "passed"),
      ],
    },
    { name: "/repo/packages/rabbitmq/test/logs.conformance.test.ts", status: "failed", message: "Cannot find module 'amqplib'", assertionResults: [] },
  ],
} as unknown as VitestJsonReport;

describe("summarizeReport", () => {
  it("counts cases per provider and role", () => {
    const { groups, errors } = summarizeReport(REPORT, "@bridge/rabbitmq");
    expect(groups).toEqual([
      {
        provider: "rabbitmq",
        role: "queue",
        package: "@bridge/rabbitmq",
        passed: 1,
        failed: 1,
        skipped: 1,
        servicesSkipped: false,
        capabilities: { priority: true },
        failedCases: ["higher priority is delivered first"],
      },
    ]);
    expect(errors).toEqual([
      { package: "@bridge/rabbitmq", file: "/repo/packages/rabbitmq/test/logs.conformance.test.ts", message: "Cannot find module 'amqplib'" },
    ]);
  });

  it("result fails on a failed case", () => {
    const result = buildConformanceResult([summarizeReport(REPORT, "@bridge/rabbitmq")]);
    expect(result.ok).toBe(false);
    expect(result.failed).toBe(1);
    expect(result.providers.rabbitmq?.queue).toMatchObject({ passed: 1, failed: 1, skipped: 1, capabilities: { priority: true } });
  });

  it("result passes when every case passed", () => {
    const passing = {
      ...REPORT,
      testResults: [{ ...REPORT.testResults[0]!, assertionResults: REPORT.testResults[0]!.assertionResults.filter((result) => result.status !== "failed") }],
    };
    const result = buildConformanceResult([summarizeReport(passing, "@bridge/rabbitmq")]);
    expect(result.ok).toBe(true);
    expect(result.errors).toEqual([]);
  });
});

/** Builds the report of one file whose server was unreachable, with the placeholders that describeWithService registers. */
function offlineReport(placeholderStatus = "skipped"): VitestJsonReport {
  const placeholder = skippedServiceTitle("mongodb", "127.0.0.1:1", "connection failed: ECONNREFUSED");
  return {
    success: true,
    numFailedTests: 0,
    testResults: [
      {
        name: "/repo/packages/mongodb/test/mongodb.conformance.test.ts",
        status: "passed",
        message: "",
        assertionResults: [
          assertion(["@bridge/mongodb conformance", "conformance[data] provider=mongodb"], placeholder, placeholderStatus),
          assertion(["@bridge/mongodb conformance", "conformance[logs] provider=mongodb"], placeholder, placeholderStatus),
          assertion(["mongodb oversell"], placeholder, placeholderStatus),
        ],
      },
    ],
  } as unknown as VitestJsonReport;
}

describe("unreachable services", () => {
  it("mark roles that did not run", () => {
    const { groups, servicesSkipped } = summarizeReport(offlineReport(), "@bridge/mongodb");
    expect(groups.map((group) => [group.role, group.skipped, group.servicesSkipped])).toEqual([
      ["data", 1, true],
      ["logs", 1, true],
    ]);
    expect(servicesSkipped).toEqual([
      { package: "@bridge/mongodb", file: "/repo/packages/mongodb/test/mongodb.conformance.test.ts", service: "mongodb", address: "127.0.0.1:1", reason: "connection failed: ECONNREFUSED", provider: "mongodb", role: "data" },
      { package: "@bridge/mongodb", file: "/repo/packages/mongodb/test/mongodb.conformance.test.ts", service: "mongodb", address: "127.0.0.1:1", reason: "connection failed: ECONNREFUSED", provider: "mongodb", role: "logs" },
      { package: "@bridge/mongodb", file: "/repo/packages/mongodb/test/mongodb.conformance.test.ts", service: "mongodb", address: "127.0.0.1:1", reason: "connection failed: ECONNREFUSED", provider: null, role: null },
    ]);
  });

  it("keep ok unless services are required", () => {
    const summary = summarizeReport(offlineReport(), "@bridge/mongodb");
    const relaxed = buildConformanceResult([summary]);
    expect(relaxed.ok).toBe(true);
    expect(relaxed.requireServices).toBe(false);
    expect(relaxed.providers.mongodb?.data).toMatchObject({ passed: 0, failed: 0, skipped: 1, servicesSkipped: true });
    expect(relaxed.servicesSkipped).toHaveLength(3);

    const strict = buildConformanceResult([summary], { requireServices: true });
    expect(strict.ok).toBe(false);
    expect(strict.requireServices).toBe(true);
  });

  it("clear the mark once a case ran", () => {
    const offline = summarizeReport(offlineReport(), "@bridge/mongodb");
    const online = summarizeReport(
      {
        success: true,
        numFailedTests: 0,
        testResults: [
          {
            name: "/repo/packages/mongodb/test/other.conformance.test.ts",
            status: "passed",
            message: "",
            assertionResults: [assertion(["conformance[data] provider=mongodb"], "engagements > create and get", "passed")],
          },
        ],
      } as unknown as VitestJsonReport,
      "@bridge/mongodb",
    );
    const result = buildConformanceResult([offline, online]);
    expect(result.providers.mongodb?.data).toMatchObject({ passed: 1, skipped: 1, servicesSkipped: false });
    expect(result.providers.mongodb?.logs?.servicesSkipped).toBe(true);
  });

  it("ignore a passing case with the same title", () => {
    const { servicesSkipped, groups } = summarizeReport(offlineReport("passed"), "@bridge/mongodb");
    expect(servicesSkipped).toEqual([]);
    expect(groups.every((group) => !group.servicesSkipped)).toBe(true);
  });
});

describe("cases outside suites", () => {
  it("failures become errors", () => {
    const report = {
      success: false,
      numFailedTests: 1,
      testResults: [
        {
          name: "/repo/packages/mongodb/test/mongodb.conformance.test.ts",
          status: "failed",
          message: "",
          assertionResults: [
            assertion(["@bridge/mongodb conformance"], "mongodb is reachable", "failed"),
            assertion(["helpers"], "namespace is valid", "passed"),
          ],
        },
      ],
    } as unknown as VitestJsonReport;
    const result = buildConformanceResult([summarizeReport(report, "@bridge/mongodb")]);
    expect(result.ok).toBe(false);
    expect(result.failed).toBe(0);
    expect(result.errors).toEqual([
      {
        package: "@bridge/mongodb",
        file: "/repo/packages/mongodb/test/mongodb.conformance.test.ts",
        message: "@bridge/mongodb conformance mongodb is reachable failed: AssertionError: expected 1 to be 2",
      },
    ]);
  });
});

describe("findConformanceFiles", () => {
  let root: string | undefined;
  afterEach(async () => {
    if (root) await rm(root, { recursive: true, force: true });
  });

  it("finds files under packages/*/test", async () => {
    root = await mkdtemp(join(tmpdir(), "bridge-conformance-find-"));
    await mkdir(join(root, "packages", "kafka", "test", "nested"), { recursive: true });
    await mkdir(join(root, "packages", "core", "test"), { recursive: true });
    await mkdir(join(root, "packages", "kafka", "test", "node_modules"), { recursive: true });
    await writeFile(join(root, "packages", "kafka", "test", "queue.conformance.test.ts"), "");
    await writeFile(join(root, "packages", "kafka", "test", "nested", "logs.conformance.test.ts"), "");
    await writeFile(join(root, "packages", "kafka", "test", "unit.test.ts"), "");
    await writeFile(join(root, "packages", "kafka", "test", "node_modules", "x.conformance.test.ts"), "");
    await writeFile(join(root, "packages", "core", "test", "registry.test.ts"), "");

    expect(await findConformanceFiles(root)).toEqual([
      {
        packageDir: join(root, "packages", "kafka"),
        files: [join(root, "packages", "kafka", "test", "nested", "logs.conformance.test.ts"), join(root, "packages", "kafka", "test", "queue.conformance.test.ts")],
      },
    ]);
  });
});
