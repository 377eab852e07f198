// Writes generated/openapi.ts, the TypeScript types of the API's requests and responses, from
// docs/openapi.yaml (openapi-typescript). `npm run build` runs it before tsc; src/api/types.ts
// names the types the dashboard uses. The output is not committed: the YAML is the source.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import openapiTS from 'openapi-typescript';
import { parse } from 'yaml';

const web = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const doc = parse(readFileSync(resolve(web, '../docs/openapi.yaml'), 'utf8'));
const out = resolve(web, 'generated/openapi.ts');
const ts = await openapiTS(doc, { exportType: false, alphabetize: false });
mkdirSync(dirname(out), { recursive: true });
writeFileSync(out, `// Generated from docs/openapi.yaml by web/scripts/openapi-types.mjs. Do not edit.\n${ts}`);
