// A Vite plugin that adds the API's documentation to the build, under api-docs/: openapi.json
// (docs/openapi.yaml converted to JSON, served at GET /api/openapi.json) and the Swagger UI page
// (api-docs/index.html, served at /api/docs) with swagger-ui-dist's script and style. Nothing comes
// from a CDN, and the page has no inline script or style (the server's Content-Security-Policy).
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, resolve } from 'node:path';
import type { Plugin } from 'vite';
import { parse } from 'yaml';

export function apiDocs(webDir: string): Plugin {
  const yamlPath = resolve(webDir, '../docs/openapi.yaml');
  const swagger = dirname(createRequire(resolve(webDir, 'package.json')).resolve('swagger-ui-dist/package.json'));
  const files: Record<string, string> = {
    'index.html': resolve(webDir, 'api-docs/index.html'),
    'init.js': resolve(webDir, 'api-docs/init.js'),
    'page.css': resolve(webDir, 'api-docs/page.css'),
    'swagger-ui-bundle.js': resolve(swagger, 'swagger-ui-bundle.js'),
    'swagger-ui.css': resolve(swagger, 'swagger-ui.css'),
  };
  return {
    name: 'mladmin-api-docs',
    apply: 'build',
    generateBundle() {
      const doc: unknown = parse(readFileSync(yamlPath, 'utf8'));
      this.emitFile({ type: 'asset', fileName: 'api-docs/openapi.json', source: JSON.stringify(doc) });
      for (const [name, path] of Object.entries(files)) {
        // The bundle's trailing source map comment names a file that is not shipped.
        const text = readFileSync(path, 'utf8').replace(/\n\/\/# sourceMappingURL=\S+\s*$/, '\n');
        this.emitFile({ type: 'asset', fileName: `api-docs/${name}`, source: text });
      }
    },
  };
}
