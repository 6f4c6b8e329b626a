import { createEnvSecrets } from "@bridge/core";
import { runSecretsSuite } from "../../src/index.js";

runSecretsSuite({
  provider: "embedded",
  capabilities: { versions: false, rotation: false },
  // A private variable map, so the suite never reads or changes process.env.
  create: async (_namespace, { secrets }) => ({ secrets: createEnvSecrets({ env: { ...secrets } }) }),
});
