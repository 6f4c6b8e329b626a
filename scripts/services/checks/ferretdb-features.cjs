// Tries MongoDB features that a data provider may use against the local
// FerretDB (or any MongoDB) and prints a Markdown table of the results.
// Needs the npm package mongodb@6 on NODE_PATH (checks/run.sh installs it in a
// temporary folder). Usage: node ferretdb-features.cjs [mongodb://127.0.0.1:27017]
// TTL_WAIT_SECONDS (default 70) sets how long the TTL check waits for a
// document to expire; MongoDB's TTL monitor runs every 60 seconds.
const { MongoClient } = require('mongodb');

const uri = process.argv[2] ?? 'mongodb://127.0.0.1:27017';
const ttlWaitSeconds = Number(process.env.TTL_WAIT_SECONDS ?? 70);
const rows = [];

function shortError(error) {
  const code = error.code !== undefined ? ` (code ${error.code})` : '';
  return `${error.message.split('\n')[0].slice(0, 140)}${code}`;
}

async function feature(name, run) {
  try {
    const note = await run();
    rows.push({ name, works: true, note: note ?? '' });
  } catch (error) {
    rows.push({ name, works: false, note: shortError(error) });
  }
}

function expect(condition, message) {
  if (!condition) throw new Error(message);
}

async function main() {
  const client = new MongoClient(uri, { serverSelectionTimeoutMS: 5000 });
  await client.connect();
  const db = client.db(`bridge_features_${Date.now()}`);
  const hello = await db.admin().command({ hello: 1 });
  const build = await db.admin().command({ buildInfo: 1 });
  console.log(`server: version ${build.version}, ferretdbVersion ${build.ferretdbVersion ?? 'n/a'}, setName ${hello.setName ?? 'none'}`);

  // The TTL check waits for the server's TTL monitor, so it runs alongside the others.
  const ttlCheck = feature(`TTL index removes expired documents (waited ${ttlWaitSeconds} s)`, async () => {
    const ttl = db.collection('ttl');
    await ttl.createIndex({ createdAt: 1 }, { expireAfterSeconds: 1 });
    await ttl.insertOne({ createdAt: new Date(Date.now() - 3600_000) });
    const deadline = Date.now() + ttlWaitSeconds * 1000;
    while (Date.now() < deadline) {
      if ((await ttl.countDocuments()) === 0) return 'expired document removed';
      await new Promise((r) => setTimeout(r, 2000));
    }
    throw new Error(`index created, but the expired document was still there after ${ttlWaitSeconds} s`);
  });

  const items = db.collection('items');
  await items.insertMany([
    { _id: 1, sku: 'a', qty: 5, tags: ['x', 'y'], status: 'active', text: 'quick brown fox' },
    { _id: 2, sku: 'b', qty: 0, tags: ['y'], status: 'archived', text: 'lazy dog sleeps' },
    { _id: 3, sku: 'c', qty: 12, tags: [], status: 'active', text: 'brown bear' },
  ]);

  await feature('multi-document transaction (session.withTransaction)', async () => {
    const session = client.startSession();
    try {
      await session.withTransaction(async () => {
        await items.insertOne({ _id: 10, sku: 'tx' }, { session });
        await items.updateOne({ _id: 1 }, { $inc: { qty: 1 } }, { session });
      });
    } finally {
      await session.endSession();
    }
    expect((await items.countDocuments({ _id: 10 })) === 1, 'transaction committed, but the document is missing');
  });

  await feature('change stream (collection.watch)', async () => {
    const stream = items.watch();
    try {
      const next = stream.next();
      // The driver opens the stream on the first next(); keep its rejection handled until awaited.
      next.catch(() => {});
      await items.insertOne({ _id: 20, sku: 'watched' });
      const change = await Promise.race([next, new Promise((_, reject) => setTimeout(() => reject(new Error('no change event in 5 s')), 5000))]);
      expect(change.operationType === 'insert', `unexpected event ${change.operationType}`);
    } finally {
      await stream.close().catch(() => {});
    }
  });

  await feature('text index and $text search', async () => {
    await items.createIndex({ text: 'text' });
    const found = await items.find({ $text: { $search: 'brown' } }).toArray();
    expect(found.length === 2, `expected 2 matches, got ${found.length}`);
  });

  await feature('unique index rejects duplicates (E11000)', async () => {
    await items.createIndex({ sku: 1 }, { unique: true });
    try {
      await items.insertOne({ _id: 30, sku: 'a' });
    } catch (error) {
      expect(error.code === 11000, `duplicate rejected with code ${error.code}, expected 11000`);
      return 'duplicate key error 11000';
    }
    throw new Error('duplicate insert was accepted');
  });

  await feature('partial index (partialFilterExpression)', async () => {
    await items.createIndex({ qty: 1 }, { partialFilterExpression: { status: 'active' } });
    const indexes = await items.indexes();
    const partial = indexes.find((index) => index.partialFilterExpression);
    expect(partial, 'index created, but listIndexes shows no partialFilterExpression');
  });

  await feature('sparse index', async () => {
    await items.createIndex({ optional: 1 }, { sparse: true });
  });

  await feature('compound index', async () => {
    await items.createIndex({ status: 1, qty: -1 });
  });

  await feature('findOneAndUpdate with condition, returnDocument after', async () => {
    const result = await items.findOneAndUpdate({ sku: 'c', qty: { $gt: 10 } }, { $inc: { qty: -2 }, $set: { touched: true } }, { returnDocument: 'after' });
    expect(result?.qty === 10, `qty is ${result?.qty}, expected 10`);
    expect(result.touched === true, `touched is ${result.touched}, expected true`);
  });

  await feature('findOneAndUpdate with upsert', async () => {
    const result = await items.findOneAndUpdate({ sku: 'new' }, { $setOnInsert: { qty: 1 } }, { upsert: true, returnDocument: 'after' });
    expect(result?.sku === 'new', `unexpected result ${JSON.stringify(result)}`);
  });

  await feature('update with arrayFilters', async () => {
    await items.updateOne({ _id: 1 }, { $set: { 'tags.$[t]': 'z' } }, { arrayFilters: [{ t: 'x' }] });
    const doc = await items.findOne({ _id: 1 });
    expect(doc.tags.includes('z'), `tags are ${JSON.stringify(doc.tags)}`);
  });

  await feature('update with aggregation pipeline', async () => {
    await items.updateOne({ _id: 2 }, [{ $set: { double: { $multiply: ['$qty', 2] } } }]);
  });

  await feature('bulkWrite (ordered, mixed operations)', async () => {
    const result = await items.bulkWrite([
      { insertOne: { document: { _id: 40, sku: 'bulk' } } },
      { updateOne: { filter: { _id: 40 }, update: { $set: { qty: 1 } } } },
      { deleteOne: { filter: { _id: 40 } } },
    ]);
    expect(result.insertedCount === 1, `insertedCount is ${result.insertedCount}, expected 1`);
    expect(result.deletedCount === 1, `deletedCount is ${result.deletedCount}, expected 1`);
  });

  await feature('aggregate $match/$group/$sort', async () => {
    const groups = await items.aggregate([{ $match: { status: { $exists: true } } }, { $group: { _id: '$status', total: { $sum: '$qty' } } }, { $sort: { _id: 1 } }]).toArray();
    expect(groups.length === 2, JSON.stringify(groups));
  });

  await feature('aggregate $lookup', async () => {
    await db.collection('orders').insertOne({ _id: 1, sku: 'a' });
    const joined = await db.collection('orders').aggregate([{ $lookup: { from: 'items', localField: 'sku', foreignField: 'sku', as: 'item' } }]).toArray();
    expect(joined[0]?.item?.length === 1, JSON.stringify(joined));
  });

  await feature('aggregate $facet', async () => {
    await items.aggregate([{ $facet: { count: [{ $count: 'n' }] } }]).toArray();
  });

  await feature('aggregate $unwind and $project', async () => {
    const rowsOut = await items.aggregate([{ $unwind: '$tags' }, { $project: { tags: 1 } }]).toArray();
    expect(rowsOut.length >= 3, JSON.stringify(rowsOut));
  });

  await feature('aggregate $addFields with $cond', async () => {
    await items.aggregate([{ $addFields: { big: { $cond: [{ $gt: ['$qty', 4] }, true, false] } } }]).toArray();
  });

  await feature('aggregate $out', async () => {
    await items.aggregate([{ $match: { status: 'active' } }, { $out: 'active_items' }]).toArray();
  });

  await feature('aggregate $merge', async () => {
    await items.aggregate([{ $match: { status: 'active' } }, { $merge: { into: 'merged_items' } }]).toArray();
  });

  await feature('query $expr', async () => {
    await items.find({ $expr: { $gt: ['$qty', 1] } }).toArray();
  });

  await feature('query $regex (case-insensitive)', async () => {
    const found = await items.find({ text: { $regex: '^QUICK', $options: 'i' } }).toArray();
    expect(found.length === 1, `expected 1, got ${found.length}`);
  });

  await feature('query with collation (case-insensitive)', async () => {
    const found = await items.find({ sku: 'A' }).collation({ locale: 'en', strength: 2 }).toArray();
    expect(found.length === 1, `expected 1, got ${found.length}`);
  });

  await feature('distinct', async () => {
    const values = await items.distinct('status');
    expect(values.length === 2, JSON.stringify(values));
  });

  await feature('2dsphere index and $near', async () => {
    const places = db.collection('places');
    await places.createIndex({ location: '2dsphere' });
    await places.insertOne({ location: { type: 'Point', coordinates: [-73.97, 40.77] } });
    await places.find({ location: { $near: { $geometry: { type: 'Point', coordinates: [-73.97, 40.77] }, $maxDistance: 1000 } } }).toArray();
  });

  await feature('capped collection', async () => {
    await db.createCollection('capped', { capped: true, size: 4096, max: 2 });
    const capped = db.collection('capped');
    await capped.insertMany([{ n: 1 }, { n: 2 }, { n: 3 }]);
  });

  await feature('schema validation ($jsonSchema validator)', async () => {
    await db.createCollection('validated', { validator: { $jsonSchema: { required: ['name'] } } });
    try {
      await db.collection('validated').insertOne({ other: 1 });
    } catch (error) {
      expect(error.code === 121, `rejected with code ${error.code}, expected 121`);
      return 'invalid document rejected';
    }
    throw new Error('document without the required field was accepted');
  });

  await ttlCheck;
  await db.dropDatabase().catch(() => {});
  await client.close();

  console.log('\n| Feature | Works | Result |');
  console.log('| --- | --- | --- |');
  for (const row of rows) {
    console.log(`| ${row.name} | ${row.works ? 'yes' : 'no'} | ${row.note.replace(/\|/g, '\\|')} |`);
  }
  const failed = rows.filter((row) => !row.works).length;
  // This script reports; a missing feature is a result, not a failure of the check.
  console.log(`\nfeatures: ${rows.length - failed} work, ${failed} do not`);
}

main().catch((error) => {
  console.error(`ferretdb-features failed: ${error.message}`);
  process.exit(1);
});
