// Exercises the local OpenSearch node with the features a data provider uses:
// geo_point and geo_shape mappings, a geo_shape intersects query with a point,
// fuzzy match, terms aggregation, search_as_you_type, geo aggregations and
// delete_by_query. Prints one line per check and exits 1 if any check failed.
// Usage: node scripts/services/checks/opensearch-check.mjs [http://127.0.0.1:9200]
const base = process.argv[2] ?? 'http://127.0.0.1:9200';
const index = `bridge-check-${Date.now()}`;
let failures = 0;
let passes = 0;

async function request(method, path, body) {
  const response = await fetch(base + path, {
    method,
    headers: { 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const json = await response.json();
  if (!response.ok) {
    throw new Error(`${method} ${path} returned HTTP ${response.status}: ${JSON.stringify(json.error ?? json)}`);
  }
  return json;
}

async function check(name, run, expect) {
  try {
    const result = await run();
    const problem = expect(result);
    if (problem) {
      failures += 1;
      console.log(`FAIL ${name}: ${problem}`);
    } else {
      passes += 1;
      console.log(`ok   ${name}`);
    }
  } catch (error) {
    failures += 1;
    console.log(`FAIL ${name}: ${error.message}`);
  }
}

await check('create index with geo_point, geo_shape, search_as_you_type', () => request('PUT', `/${index}`, {
  settings: { number_of_shards: 1, number_of_replicas: 0 },
  mappings: {
    properties: {
      name: { type: 'text' },
      title: { type: 'search_as_you_type' },
      category: { type: 'keyword' },
      location: { type: 'geo_point' },
      area: { type: 'geo_shape' },
    },
  },
}), (r) => (r.acknowledged ? null : 'not acknowledged'));

const documents = [
  { name: 'Central Park', title: 'central park new york', category: 'park', location: { lat: 40.78, lon: -73.96 },
    area: { type: 'polygon', coordinates: [[[-73.98, 40.76], [-73.95, 40.76], [-73.95, 40.80], [-73.98, 40.80], [-73.98, 40.76]]] } },
  { name: 'Hyde Park', title: 'hyde park london', category: 'park', location: { lat: 51.507, lon: -0.165 },
    area: { type: 'polygon', coordinates: [[[-0.19, 51.50], [-0.15, 51.50], [-0.15, 51.515], [-0.19, 51.515], [-0.19, 51.50]]] } },
  { name: 'British Museum', title: 'british museum london', category: 'museum', location: { lat: 51.519, lon: -0.127 },
    area: { type: 'point', coordinates: [-0.127, 51.519] } },
];
await check('index polygon and point documents', async () => {
  for (const [i, doc] of documents.entries()) {
    await request('PUT', `/${index}/_doc/${i + 1}?refresh=true`, doc);
  }
  return request('GET', `/${index}/_count`);
}, (r) => (r.count === 3 ? null : `count ${r.count}, expected 3`));

await check('geo_shape intersects query with a point', () => request('POST', `/${index}/_search`, {
  query: { geo_shape: { area: { shape: { type: 'point', coordinates: [-73.97, 40.77] }, relation: 'intersects' } } },
}), (r) => (r.hits.hits.map((h) => h._source.name).join() === 'Central Park' ? null : `hits ${JSON.stringify(r.hits.hits.map((h) => h._source.name))}`));

await check('geo_distance query on geo_point', () => request('POST', `/${index}/_search`, {
  query: { geo_distance: { distance: '5km', location: { lat: 51.51, lon: -0.14 } } },
}), (r) => (r.hits.total.value === 2 ? null : `total ${r.hits.total.value}, expected 2`));

await check('match query with fuzziness', () => request('POST', `/${index}/_search`, {
  query: { match: { name: { query: 'Centrl Prak', fuzziness: 'AUTO' } } },
}), (r) => (r.hits.hits[0]?._source.name === 'Central Park' ? null : `top hit ${r.hits.hits[0]?._source.name}`));

await check('terms aggregation', () => request('POST', `/${index}/_search`, {
  size: 0, aggs: { categories: { terms: { field: 'category' } } },
}), (r) => {
  const buckets = Object.fromEntries(r.aggregations.categories.buckets.map((b) => [b.key, b.doc_count]));
  return buckets.park === 2 && buckets.museum === 1 ? null : `buckets ${JSON.stringify(buckets)}`;
});

await check('search_as_you_type bool_prefix', () => request('POST', `/${index}/_search`, {
  query: { multi_match: { query: 'british mus', type: 'bool_prefix', fields: ['title', 'title._2gram', 'title._3gram'] } },
}), (r) => (r.hits.hits[0]?._source.name === 'British Museum' ? null : `top hit ${r.hits.hits[0]?._source.name}`));

await check('geo_bounds and geotile_grid aggregations (geo module)', () => request('POST', `/${index}/_search`, {
  size: 0, aggs: { bounds: { geo_bounds: { field: 'location' } }, tiles: { geotile_grid: { field: 'location', precision: 4 } } },
}), (r) => (r.aggregations.bounds.bounds && r.aggregations.tiles.buckets.length === 2 ? null : JSON.stringify(r.aggregations)));

await check('painless script_fields', () => request('POST', `/${index}/_search`, {
  query: { ids: { values: ['3'] } },
  script_fields: { upper: { script: { lang: 'painless', source: "doc['category'].value.toUpperCase()" } } },
}), (r) => (r.hits.hits[0]?.fields?.upper?.[0] === 'MUSEUM' ? null : JSON.stringify(r.hits.hits[0]?.fields)));

await check('delete_by_query (reindex module)', () => request('POST', `/${index}/_delete_by_query?refresh=true`, {
  query: { term: { category: 'museum' } },
}), (r) => (r.deleted === 1 ? null : `deleted ${r.deleted}`));

await request('DELETE', `/${index}`).catch(() => {});
console.log(`${passes} passed, ${failures} failed`);
process.exit(failures === 0 ? 0 : 1);
