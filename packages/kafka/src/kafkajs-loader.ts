// Loads kafkajs with a corrected filter for records of aborted transactions.
//
// kafkajs 2.2.4 (src/consumer/filterAbortedMessages.js) expects the broker's
// list of aborted transactions in a fetch response to be sorted by first
// offset, and steps over at most one of them per record. Brokers list them in
// the order the transactions were aborted (Kafka 4.4 on the local test broker
// did), so a read_committed consumer delivers records of aborted transactions.
// The Java client sorts the list; this filter does the same. The module is
// put into Node's require cache before kafkajs loads it, which only works if
// nothing in the process loaded kafkajs earlier.
import { createRequire, Module } from "node:module";
import { dirname, join } from "node:path";
import type * as Kafkajs from "kafkajs";

type KafkajsModule = typeof Kafkajs;

interface FilterInput {
  messages: Array<{ offset: string; key: Buffer | null; batchContext: { producerId: string; inTransaction: boolean; isControlBatch: boolean } }>;
  abortedTransactions?: Array<{ producerId: string; firstOffset: string }>;
}

/** The key of an ABORT control record: version 0, type 0. */
const ABORT_MARKER_KEY = Buffer.from([0, 0, 0, 0]);

/** Drops the records of aborted transactions, taking the aborted transactions in first-offset order. */
export function filterAbortedMessages({ messages, abortedTransactions }: FilterInput): FilterInput["messages"] {
  if (!abortedTransactions || abortedTransactions.length === 0) return messages;
  const pending = [...abortedTransactions].sort((a, b) => (BigInt(a.firstOffset) < BigInt(b.firstOffset) ? -1 : 1));
  const aborted = new Set<string>();

  return messages.filter((message) => {
    const offset = BigInt(message.offset);
    while (pending.length > 0 && offset >= BigInt((pending[0] as { firstOffset: string }).firstOffset)) {
      aborted.add((pending.shift() as { producerId: string }).producerId);
    }
    const { producerId, inTransaction, isControlBatch } = message.batchContext;
    if (isControlBatch && message.key !== null && Buffer.from(message.key).equals(ABORT_MARKER_KEY)) {
      aborted.delete(producerId);
      return true;
    }
    return !(inTransaction && aborted.has(producerId));
  });
}

let loaded: { kafkajs: KafkajsModule; patched: boolean } | undefined;

function requireHere(): NodeRequire {
  // tsup provides import.meta.url in the CommonJS build too (shims: true).
  return createRequire(import.meta.url);
}

/**
 * Returns kafkajs, loading it on first call with the corrected filter.
 * `patched` is false when kafkajs was loaded before, so the filter of
 * kafkajs itself is in use.
 */
export function loadKafkajs(): { kafkajs: KafkajsModule; patched: boolean } {
  if (loaded !== undefined) return loaded;
  const require = requireHere();
  const root = dirname(require.resolve("kafkajs/package.json"));
  const filterPath = join(root, "src", "consumer", "filterAbortedMessages.js");
  const batchPath = join(root, "src", "consumer", "batch.js");
  const cache = require.cache;

  let patched = false;
  if (cache[batchPath] === undefined) {
    const replacement = new Module(filterPath);
    replacement.filename = filterPath;
    replacement.loaded = true;
    replacement.exports = filterAbortedMessages;
    cache[filterPath] = replacement;
    patched = true;
  } else {
    patched = cache[filterPath]?.exports === filterAbortedMessages;
  }
  loaded = { kafkajs: require("kafkajs") as KafkajsModule, patched };
  return loaded;
}
