// Checks that kafkajs works against the local broker: creates a topic,
// produces, commits a transactional send, then consumes all three messages
// in a consumer group (read_committed, the kafkajs default).
// Needs kafkajs on NODE_PATH (checks/run.sh installs kafkajs@2.2.4 in a
// temporary folder). Usage: node kafka-check.cjs [127.0.0.1:9092]
const { Kafka, logLevel } = require('kafkajs');

const broker = process.argv[2] ?? '127.0.0.1:9092';
const kafka = new Kafka({ clientId: 'bridge-kafka-check', brokers: [broker], logLevel: logLevel.NOTHING });
const suffix = Date.now();
const topic = `bridge-check-${suffix}`;
let passes = 0;
let failures = 0;

async function check(name, run) {
  try {
    await run();
    passes += 1;
    console.log(`ok   ${name}`);
  } catch (error) {
    failures += 1;
    console.log(`FAIL ${name}: ${error.type ?? ''} ${error.message}`);
  }
}

async function main() {
  const admin = kafka.admin();
  const producer = kafka.producer();
  const transactional = kafka.producer({ transactionalId: `bridge-check-tx-${suffix}`, idempotent: true, maxInFlightRequests: 1 });
  const consumer = kafka.consumer({ groupId: `bridge-check-group-${suffix}` });
  const received = [];

  await check('admin createTopics', async () => {
    await admin.connect();
    await admin.createTopics({ topics: [{ topic, numPartitions: 2 }], waitForLeaders: true });
  });
  await check('produce two messages', async () => {
    await producer.connect();
    await producer.send({ topic, messages: [{ key: 'a', value: 'one' }, { key: 'b', value: 'two' }] });
  });
  await check('transactional send and commit', async () => {
    await transactional.connect();
    const transaction = await transactional.transaction();
    await transaction.send({ topic, messages: [{ key: 'c', value: 'three' }] });
    await transaction.commit();
  });
  await check('consumer group joins and reads all messages', async () => {
    await consumer.connect();
    await consumer.subscribe({ topics: [topic], fromBeginning: true });
    await new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`timed out after 30 s with ${received.length} of 3 messages`)), 30000);
      consumer.run({
        eachMessage: async ({ message }) => {
          received.push(message.value.toString());
          if (received.length === 3) {
            clearTimeout(timer);
            resolve();
          }
        },
      }).catch(reject);
    });
    const expected = ['one', 'three', 'two'];
    if (JSON.stringify([...received].sort()) !== JSON.stringify(expected)) {
      throw new Error(`received ${JSON.stringify(received)}, expected ${JSON.stringify(expected)} in any order`);
    }
  });
  await check('consumer group offsets committed', async () => {
    await consumer.stop();
    const offsets = await admin.fetchOffsets({ groupId: `bridge-check-group-${suffix}`, topics: [topic] });
    const committed = offsets[0].partitions.reduce((sum, p) => sum + Math.max(0, Number(p.offset)), 0);
    // Three records plus one transaction commit marker take four offsets.
    if (committed < 3) throw new Error(`committed offsets add up to ${committed}, expected at least 3`);
  });

  await consumer.disconnect().catch(() => {});
  await transactional.disconnect().catch(() => {});
  await producer.disconnect().catch(() => {});
  await admin.deleteTopics({ topics: [topic] }).catch(() => {});
  await admin.disconnect().catch(() => {});
  console.log(`${passes} passed, ${failures} failed`);
  process.exit(failures === 0 ? 0 : 1);
}

main().catch((error) => {
  console.error(`kafka-check failed: ${error.message}`);
  process.exit(1);
});
