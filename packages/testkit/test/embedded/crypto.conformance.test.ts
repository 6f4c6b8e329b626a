import { createNodeCrypto } from "@bridge/core";
import { runCryptoSuite } from "../../src/index.js";

runCryptoSuite({
  provider: "embedded",
  capabilities: { keyRotation: true, magicLinks: true },
  // The lowest scrypt cost keeps the suite fast; production keeps the default.
  create: async (_namespace, { now }) => ({ crypto: createNodeCrypto({ now, passwordCost: { ln: 10, r: 8, p: 1 } }) }),
});
