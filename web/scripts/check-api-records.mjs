// Checks the HTTP exchanges that the integration tests recorded (MLADMIN_API_RECORD, see
// tests/support/api_record.hpp) against docs/openapi.yaml: each must hit a described operation,
// answer a status that operation describes, and carry a JSON body that its schema accepts.
// Usage: node scripts/check-api-records.mjs <openapi.yaml> <records folder>
// Prints a line per problem (at most 10 of each kind) and the operations no test reached;
// exits 1 on any problem, or when nothing was recorded.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import Ajv2020 from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';
import { parse } from 'yaml';

const [yamlPath, folder] = process.argv.slice(2);
if (!yamlPath || !folder) {
  console.error('usage: check-api-records.mjs <openapi.yaml> <records folder>');
  process.exit(2);
}
const doc = parse(readFileSync(yamlPath, 'utf8'));
const ajv = new Ajv2020({ strict: false, allErrors: false });
addFormats(ajv);
ajv.addSchema(doc, 'openapi');

const pointer = (...parts) => parts.map((p) => String(p).replaceAll('~', '~0').replaceAll('/', '~1')).join('/');
const deref = (obj) => {
  while (obj && obj.$ref) {
    obj = obj.$ref
      .slice(2)
      .split('/')
      .map((p) => p.replaceAll('~1', '/').replaceAll('~0', '~'))
      .reduce((o, k) => o[k], doc);
  }
  return obj;
};

const operations = [];
for (const [path, item] of Object.entries(doc.paths)) {
  for (const method of ['get', 'put', 'post', 'patch', 'delete']) {
    if (!item[method]) continue;
    const re = new RegExp(`^${path.replace(/\{[^}]+\}/g, '[^/]+')}$`);
    operations.push({ path, method, re, op: item[method], seen: 0 });
  }
}
// "/api/ml/sync/jobs/export" before "/api/ml/sync/job/{jobId}": the literal path wins.
operations.sort((a, b) => (a.path.includes('{') ? 1 : 0) - (b.path.includes('{') ? 1 : 0));

// The events of GET /api/ml/sync/events, each against the schema x-mladmin-events gives its name.
const eventsOp = doc.paths['/api/ml/sync/events'].get;
const eventsSeen = new Set();
function checkEvent(x) {
  eventsSeen.add(x.event);
  operations.find((o) => o.path === '/api/ml/sync/events').seen++;
  if (!(x.event in (eventsOp['x-mladmin-events'] ?? {}))) {
    problem('event', `an event "${x.event}" that docs/openapi.yaml does not describe`);
    return;
  }
  if (x.bodySkipped) return;
  const validate = ajv.getSchema(`openapi#/${pointer('paths', '/api/ml/sync/events', 'get', 'x-mladmin-events', x.event)}`);
  checked++;
  let data;
  try {
    data = JSON.parse(x.data);
  } catch {
    problem('json', `event ${x.event}: the data is not JSON`);
    return;
  }
  if (!validate(data)) {
    const e = validate.errors[0];
    problem('event', `event ${x.event}: ${e.instancePath || '/'} ${e.message} ${JSON.stringify(e.params)}`);
  }
}

if (!existsSync(folder)) {
  console.error(`no records in ${folder}: run the integration tests with MLADMIN_API_RECORD=${folder}`);
  process.exit(1);
}
const problems = new Map();
const problem = (kind, text) => {
  const list = problems.get(kind) ?? [];
  list.push(text);
  problems.set(kind, list);
};
let exchanges = 0;
let checked = 0;
for (const file of readdirSync(folder).filter((f) => f.endsWith('.ndjson'))) {
  for (const line of readFileSync(join(folder, file), 'utf8').split('\n')) {
    if (!line) continue;
    const x = JSON.parse(line);
    exchanges++;
    if (x.event !== undefined) {
      checkEvent(x);
      continue;
    }
    const method = x.method.toLowerCase();
    const found = operations.find((o) => o.method === method && o.re.test(x.path));
    if (!found) {
      // Unknown paths and methods are what some tests send on purpose: they must answer errors.
      // Outside /api/ the dashboard's files answer (not part of the API).
      if (x.path.startsWith('/api/') && x.status < 400) {
        problem('undescribed', `${x.method} ${x.path} answered ${x.status} but is not described`);
      }
      continue;
    }
    found.seen++;
    const where = `${x.method} ${x.path} → ${x.status}`;
    const responses = found.op.responses ?? {};
    const key = String(x.status) in responses ? String(x.status) : 'default' in responses ? 'default' : null;
    const json = (x.contentType ?? '').startsWith('application/json');
    // 400, 404, 405, 413, 431, 500, 503 and 507 can answer any request (docs/openapi.yaml, info.description):
    // their body is the error body.
    if (key === null) {
      if (![400, 404, 405, 413, 431, 500, 503, 507].includes(x.status)) {
        problem('status', `${where}: status not described for ${found.method.toUpperCase()} ${found.path}`);
      } else if (json && !x.bodySkipped) {
        checked++;
        const validate = ajv.getSchema('openapi#/components/schemas/ErrorBody');
        if (!validate(JSON.parse(x.body))) problem('body', `${where}: not an error body`);
      }
      continue;
    }
    if (!json || x.bodySkipped || x.body === '') continue;
    const response = deref(responses[key]);
    if (!response.content?.['application/json']) {
      problem('content', `${where}: a JSON body where the description has none`);
      continue;
    }
    const schemaPtr = responses[key].$ref
      ? `${responses[key].$ref}/content/${pointer('application/json')}/schema`
      : `#/${pointer('paths', found.path, found.method, 'responses', key, 'content', 'application/json', 'schema')}`;
    const validate = ajv.getSchema(`openapi${schemaPtr}`);
    if (!validate) {
      problem('schema', `${where}: no schema at ${schemaPtr}`);
      continue;
    }
    let body;
    try {
      body = JSON.parse(x.body);
    } catch {
      problem('json', `${where}: the body is not JSON`);
      continue;
    }
    checked++;
    if (!validate(body)) {
      const e = validate.errors[0];
      problem('body', `${where}: ${e.instancePath || '/'} ${e.message} ${JSON.stringify(e.params)}`);
    }
  }
}
const unseen = operations.filter((o) => o.seen === 0 && !o.op['x-mladmin-pending']);
console.log(`${exchanges} exchanges and events recorded, ${checked} JSON bodies checked against docs/openapi.yaml`);
console.log(`events seen: ${[...eventsSeen].sort().join(', ') || 'none'}`);
if (unseen.length) {
  console.log(`operations no integration test reached (${unseen.length}):`);
  for (const o of unseen) console.log(`  ${o.method.toUpperCase()} ${o.path}`);
}
let failed = exchanges === 0;
if (exchanges === 0) console.log('nothing was recorded');
for (const [kind, list] of problems) {
  failed = true;
  console.log(`${list.length} problem(s) of kind "${kind}":`);
  for (const text of list.slice(0, 10)) console.log(`  ${text}`);
}
console.log(failed ? 'api contract: FAILED' : 'api contract: passed');
process.exit(failed ? 1 : 0);
