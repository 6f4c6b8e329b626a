export {
  conformanceTitle,
  describeConformance,
  eventually,
  expectBridgeError,
  newNamespace,
  parseConformanceTitle,
  resolveTimeouts,
  sleep,
  type CaseTimeoutOptions,
  type ConformanceMeta,
  type ConformanceRole,
  type EventuallyOptions,
} from "./harness.js";
export * from "./fixtures.js";
export { quietLogger } from "./quiet-logger.js";
export { runQueueSuite, type QueueFactoryOptions, type QueueInstance, type QueueSuiteOptions } from "./suites/queue.js";
export { runLogsSuite, type LogsInstance, type LogsSuiteOptions } from "./suites/logs.js";
export { runNotificationsSuite, type NotificationsInstance, type NotificationsSuiteOptions } from "./suites/notifications.js";
export { runDataSuite, DATA_MODULES, type DataInstance, type DataSuiteOptions } from "./suites/data/index.js";
export { runSearchSuite, type SearchInstance, type SearchSuiteOptions } from "./suites/search.js";
export { runMessagingSuite, type MessagingInstance, type MessagingSuiteOptions, type SentMessage } from "./suites/messaging.js";
export { runSecretsSuite, type SecretsFactoryOptions, type SecretsInstance, type SecretsSuiteOptions } from "./suites/secrets.js";
export { runCryptoSuite, type CryptoFactoryOptions, type CryptoInstance, type CryptoSuiteOptions } from "./suites/crypto.js";
export {
  describeWithService,
  requireService,
  skippedServiceTitle,
  type DescribeWithServiceOptions,
  type ProbeOptions,
  type ServiceName,
  type ServiceStatus,
} from "./services.js";
