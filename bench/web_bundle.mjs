#!/usr/bin/env node
// Measures the dashboard's bundle: builds web/ into a temporary directory with Vite's manifest,
// then prints each file's raw and gzip (-9) size and what the first visit of each page downloads
// (index.html, the entry chunk, its static imports and CSS, then the page's lazy chunk and its
// own imports). Usage: node bench/web_bundle.mjs   (from the repository root; needs web/node_modules)
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { gzipSync } from 'node:zlib';

const web = new URL('../web/', import.meta.url).pathname;
const out = mkdtempSync(join(tmpdir(), 'mladmin-bundle-'));
try {
  execFileSync('npx', ['vite', 'build', '--manifest', '--outDir', out, '--emptyOutDir', '--logLevel', 'warn'], {
    cwd: web,
    stdio: 'inherit',
  });
  const sizes = new Map();
  const walk = (dir) => {
    for (const name of readdirSync(dir)) {
      const p = join(dir, name);
      if (statSync(p).isDirectory()) {
        if (name !== '.vite') walk(p);
        continue;
      }
      const bytes = readFileSync(p);
      sizes.set(relative(out, p), { raw: bytes.length, gzip: gzipSync(bytes, { level: 9 }).length });
    }
  };
  walk(out);
  const kb = (n) => `${(n / 1024).toFixed(1)} KiB`;
  console.log('file                                        raw        gzip');
  let total = { raw: 0, gzip: 0 };
  for (const [name, s] of [...sizes].sort((a, b) => b[1].raw - a[1].raw)) {
    console.log(`${name.padEnd(40)} ${kb(s.raw).padStart(10)} ${kb(s.gzip).padStart(10)}`);
    total = { raw: total.raw + s.raw, gzip: total.gzip + s.gzip };
  }
  console.log(`${'all files'.padEnd(40)} ${kb(total.raw).padStart(10)} ${kb(total.gzip).padStart(10)}`);

  // What a first visit downloads, from the manifest's import graph.
  const manifest = JSON.parse(readFileSync(join(out, '.vite', 'manifest.json'), 'utf8'));
  const closure = (key, seen) => {
    const chunk = manifest[key];
    if (!chunk || seen.has(chunk.file)) return;
    seen.add(chunk.file);
    for (const css of chunk.css ?? []) seen.add(css);
    for (const imp of chunk.imports ?? []) closure(imp, seen);
  };
  const entryKey = Object.keys(manifest).find((k) => manifest[k].isEntry);
  const base = new Set(['index.html']);
  closure(entryKey, base);
  const sum = (files) =>
    [...files].reduce((acc, f) => ({ raw: acc.raw + (sizes.get(f)?.raw ?? 0), gzip: acc.gzip + (sizes.get(f)?.gzip ?? 0) }), {
      raw: 0,
      gzip: 0,
    });
  console.log('\nfirst visit of a page (index.html + entry + the page chunk and their imports)');
  const login = sum(base);
  console.log(`${'login'.padEnd(40)} ${kb(login.raw).padStart(10)} ${kb(login.gzip).padStart(10)}`);
  for (const page of ['SyncPage', 'DocumentsPage', 'UsersPage', 'StatsPage']) {
    const key = Object.keys(manifest).find((k) => k.endsWith(`pages/${page}.tsx`));
    const files = new Set(base);
    closure(key, files);
    const s = sum(files);
    console.log(`${page.padEnd(40)} ${kb(s.raw).padStart(10)} ${kb(s.gzip).padStart(10)}`);
  }
} finally {
  rmSync(out, { recursive: true, force: true });
}
