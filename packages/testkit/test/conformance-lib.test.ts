import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { buildConformanceResult, findConformanceFiles, summarizeReport, type VitestJsonReport } from "../scripts/conformance-lib.mjs";

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
