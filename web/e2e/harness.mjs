// End-to-end harness: a real `mladmin serve` on a temporary SQLite database, accounts and seeded
// data made with the binary's own commands, and Debian's Chromium driven by playwright-core.
//
// Environment:
//   MLADMIN_BIN        the mladmin binary (CTest passes $<TARGET_FILE:mladmin>); default: the
//                      dev build, else the release build, of this checkout
//   E2E_UI             "server" (default): the dashboard is the one the binary serves at `/`;
//                      "preview": start `vite preview` on web/dist, proxying /api to the server
//                      (for development, before the binary embeds the dashboard)
//   E2E_WEB_DIR        with E2E_UI=preview: the app directory whose dist/ is previewed (default web)
//   E2E_BASE_URL       use this dashboard address instead (it must reach the same server's API)
//   E2E_SCREENSHOTS    where each test saves <test name>.png (default web/e2e/screenshots)
//   E2E_KEEP           keep the temporary directory (database, server log) for a look afterwards
//   E2E_HEADED         show the browser window (a display is needed)
import { spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import net from 'node:net';
import { chromium } from 'playwright-core';

const here = path.dirname(fileURLToPath(import.meta.url));
export const webDir = path.resolve(here, '..');
const repoDir = path.resolve(webDir, '..');

export const CHROMIUM = '/usr/bin/chromium';
export const JWT_SECRET = 'e2e-secret-0123456789abcdef0123456789abcdef';
export const ADMIN = { email: 'admin@e2e.test', password: 'velvet quarry orbit 4711', name: 'Dana Root' };
export const SEED = 7; // seed-demo's writers share the password demo-<seed>-Harbor-Lantern
export const WRITER_PASSWORD = `demo-${SEED}-Harbor-Lantern`;
export const writerEmail = (n) => `writer${n}@demo.example`;

export const screenshotDir = path.resolve(process.env.E2E_SCREENSHOTS || path.join(here, 'screenshots'));

function binaryPath() {
  if (process.env.MLADMIN_BIN) {
    if (!fs.existsSync(process.env.MLADMIN_BIN)) throw new Error(`MLADMIN_BIN=${process.env.MLADMIN_BIN} does not exist`);
    return path.resolve(process.env.MLADMIN_BIN);
  }
  const candidates = [
    path.join(repoDir, 'build/dev/mladmin'),
    path.join(repoDir, 'build/release/mladmin'),
  ].filter(Boolean);
  for (const c of candidates) if (fs.existsSync(c)) return path.resolve(c);
  throw new Error(`no mladmin binary: set MLADMIN_BIN (tried ${candidates.join(', ')})`);
}

/** The environment of every child: nothing of a developer's MLADMIN_* settings, no preloads. */
function childEnv(extra = {}) {
  const env = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (k.startsWith('MLADMIN_') || k === 'LD_PRELOAD') continue;
    env[k] = v;
  }
  return { ...env, ...extra };
}

export async function deadline(what, ms, fn, intervalMs = 100) {
  const until = Date.now() + ms;
  let last;
  for (;;) {
    try {
      const v = await fn();
      if (v) return v;
    } catch (e) {
      last = e;
    }
    if (Date.now() > until) throw new Error(`timed out after ${ms} ms waiting for ${what}${last ? `: ${last.message}` : ''}`);
    // Polling interval of a condition with a deadline, not a wait for something to happen.
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}

/** Runs `mladmin ARGS` to completion; throws with its output unless it exits 0. */
function runCli(bin, args, { input, timeoutMs = 180_000 } = {}) {
  const r = spawnSync(bin, args, { input, env: childEnv({ MLADMIN_JWT_SECRET: JWT_SECRET }), timeout: timeoutMs, encoding: 'utf8' });
  if (r.error) throw new Error(`mladmin ${args.join(' ')}: ${r.error.message}`);
  if (r.status !== 0) throw new Error(`mladmin ${args.join(' ')} exited ${r.status ?? r.signal}:\n${r.stdout}\n${r.stderr}`);
  return r.stdout;
}

async function freePort() {
  const srv = net.createServer();
  srv.listen(0, '127.0.0.1');
  await once(srv, 'listening');
  const { port } = srv.address();
  srv.close();
  await once(srv, 'close');
  return port;
}

/**
 * A world: a temporary directory with a SQLite database holding an admin and `writers` demo
 * writers (role user) with seeded records, and a server on it.
 */
export class World {
  /**
   * `config`: TOML for `mladmin serve --config` (e.g. an `[ml_service]` section); `env`: more
   * environment for the server (e.g. MLADMIN_ML_SERVICE_TOKEN).
   */
  constructor({ writers = 2, entriesPerWriter = 100, goalsPerWriter = 0, invalidRatio = 0.01, config = '', env = {} } = {}) {
    this.bin = binaryPath();
    this.dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mladmin-e2e-'));
    this.configPath = config ? path.join(this.dir, 'config.toml') : null;
    if (this.configPath) fs.writeFileSync(this.configPath, config);
    this.serverEnv = env;
    this.dbUrl = `sqlite://${path.join(this.dir, 'mladmin.db')}`;
    this.logPath = path.join(this.dir, 'server.log');
    this.seed = { writers, entriesPerWriter, goalsPerWriter, invalidRatio };
    this.server = null;
    this.port = 0;
    this.preview = null;
    this.tokens = new Map();
  }

  async setup() {
    const t0 = Date.now();
    runCli(this.bin, ['migrate', '--database', this.dbUrl]);
    runCli(this.bin, ['user', 'add', '--email', ADMIN.email, '--name', ADMIN.name, '--role', 'admin', '--password-stdin', '--database', this.dbUrl], {
      input: `${ADMIN.password}\n`,
    });
    const s = this.seed;
    runCli(this.bin, [
      'seed-demo', '--database', this.dbUrl, '--users', String(s.writers),
      '--entries-per-user', String(s.entriesPerWriter), '--goals-per-user', String(s.goalsPerWriter),
      '--invalid-ratio', String(s.invalidRatio), '--seed', String(SEED),
    ]);
    this.seedMs = Date.now() - t0;
    await this.start();
    await this.startUi();
    return this;
  }

  get apiUrl() {
    return `http://127.0.0.1:${this.port}`;
  }

  get baseUrl() {
    if (process.env.E2E_BASE_URL) return process.env.E2E_BASE_URL.replace(/\/$/, '');
    if (this.preview) return `http://127.0.0.1:${this.previewPort}`;
    return this.apiUrl;
  }

  /** Starts `mladmin serve`, on port 0 the first time and on the same port afterwards. */
  async start() {
    if (this.server) throw new Error('server already running');
    const log = fs.openSync(this.logPath, 'a');
    const args = ['serve', '--listen', `127.0.0.1:${this.port}`, '--database', this.dbUrl];
    if (this.configPath) args.push('--config', this.configPath);
    const child = spawn(this.bin, args, {
      env: childEnv({ ...this.serverEnv, MLADMIN_JWT_SECRET: JWT_SECRET }),
      stdio: ['ignore', 'pipe', log],
    });
    fs.closeSync(log);
    this.server = child;
    // If this process dies without a teardown, the server must not outlive it.
    const reap = () => child.kill('SIGKILL');
    process.once('exit', reap);
    child.once('exit', () => process.removeListener('exit', reap));
    child.exited = new Promise((resolve) => child.on('exit', (code, signal) => resolve(code ?? 128 + (os.constants.signals[signal] ?? 0))));
    let out = '';
    const port = await new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`mladmin serve did not print its address within 60 s; log:\n${this.logTail()}`)), 60_000);
      child.stdout.on('data', (d) => {
        out += d;
        const m = /listening on http:\/\/127\.0\.0\.1:(\d+)/.exec(out);
        if (m) {
          clearTimeout(timer);
          resolve(Number(m[1]));
        }
      });
      child.on('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`mladmin serve exited ${code} before listening; log:\n${this.logTail()}`));
      });
    });
    child.stdout.resume();
    this.port = port;
    await deadline('/readyz', 30_000, async () => (await fetch(`${this.apiUrl}/readyz`)).ok);
  }

  /** SIGTERM, then waits for a clean exit (0). */
  async stop() {
    const child = this.server;
    if (!child) return;
    this.server = null;
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
    const code = await child.exited;
    clearTimeout(timer);
    if (code !== 0) throw new Error(`mladmin serve exited ${code} on SIGTERM; log:\n${this.logTail()}`);
  }

  async restart() {
    await this.stop();
    await this.start();
  }

  async startUi() {
    if (process.env.E2E_BASE_URL) return;
    if ((process.env.E2E_UI || 'server') === 'preview') {
      // E2E_WEB_DIR: preview another copy of the app (its dist/), e.g. a page still being written.
      const appDir = path.resolve(process.env.E2E_WEB_DIR || webDir);
      if (!fs.existsSync(path.join(appDir, 'dist/index.html'))) throw new Error(`E2E_UI=preview needs ${appDir}/dist: run npm run build first`);
      this.previewPort = await freePort();
      const vite = path.join(webDir, 'node_modules/vite/bin/vite.js');
      this.preview = spawn(process.execPath, [vite, 'preview', '--host', '127.0.0.1', '--port', String(this.previewPort), '--strictPort'], {
        cwd: appDir,
        env: childEnv({ MLADMIN_API: this.apiUrl }),
        stdio: ['ignore', 'ignore', 'inherit'],
      });
      const preview = this.preview;
      process.once('exit', () => preview.kill('SIGKILL'));
      await deadline('vite preview', 30_000, async () => (await fetch(`${this.baseUrl}/`)).ok);
      return;
    }
    // The binary serves the dashboard: `/` must answer the app's HTML, or nothing here can work.
    const res = await fetch(`${this.baseUrl}/`);
    const body = await res.text();
    if (!res.ok || !/<div id="root"/.test(body)) {
      throw new Error(
        `the server does not serve the dashboard at / (GET / answered ${res.status}). ` +
          'Build mladmin with the embedded dashboard, or run with E2E_UI=preview after `npm run build`.',
      );
    }
  }

  logTail(lines = 40) {
    try {
      return fs.readFileSync(this.logPath, 'utf8').split('\n').slice(-lines).join('\n');
    } catch {
      return '(no log)';
    }
  }

  async teardown() {
    if (this.preview) {
      this.preview.kill('SIGTERM');
      this.preview = null;
    }
    try {
      await this.stop();
    } finally {
      if (!process.env.E2E_KEEP) fs.rmSync(this.dir, { recursive: true, force: true });
      else console.log(`kept ${this.dir}`);
    }
  }

  // --- the API, for setting things up and for checking what the UI did ---

  async token(email = ADMIN.email, password = ADMIN.password) {
    if (!this.tokens.has(email)) {
      const r = await this.request('POST', '/api/auth/login', { body: { email, password } });
      this.tokens.set(email, r.token);
    }
    return this.tokens.get(email);
  }

  async request(method, p, { body, token, raw, contentType } = {}) {
    const headers = {};
    if (token) headers.Authorization = `Bearer ${token}`;
    let data;
    if (body !== undefined) {
      headers['Content-Type'] = contentType || 'application/json';
      data = typeof body === 'string' ? body : JSON.stringify(body);
    }
    const res = await fetch(`${this.apiUrl}${p}`, { method, headers, body: data });
    if (raw) return res;
    const text = await res.text();
    if (!res.ok) throw new Error(`${method} ${p} answered ${res.status}: ${text}`);
    return text ? JSON.parse(text) : null;
  }

  async as(email, password) {
    const token = await this.token(email, password);
    return {
      get: (p) => this.request('GET', p, { token }),
      post: (p, body, opts = {}) => this.request('POST', p, { token, body, ...opts }),
      patch: (p, body) => this.request('PATCH', p, { token, body }),
    };
  }

  async admin() {
    return this.as(ADMIN.email, ADMIN.password);
  }

  async userId(email) {
    const a = await this.admin();
    const { items } = await a.get(`/api/ml/admin/users?q=${encodeURIComponent(email)}`);
    const u = items.find((x) => x.email === email);
    if (!u) throw new Error(`no user ${email}`);
    return u.id;
  }

  async job(id) {
    return (await this.admin()).get(`/api/ml/sync/job/${id}`);
  }

  /** Polls a job until `pred(job)` holds. */
  async waitJob(id, what, pred, ms = 120_000) {
    return deadline(`job ${id} ${what}`, ms, async () => {
      const j = await this.job(id);
      return pred(j) ? j : null;
    }, 100);
  }

  /** The newest job of a type (optionally of a scope) that was created after `since` (ms). */
  async newestJob(type, since, filter = () => true) {
    const a = await this.admin();
    const { items } = await a.get(`/api/ml/sync/jobs?type=${type}&limit=20`);
    return items.find((j) => Date.parse(j.createdAt) >= since - 1000 && filter(j)) ?? null;
  }
}

// --- the reference ML service receiver ---

/**
 * examples/ml-service/receiver.py (Python's standard library) on 127.0.0.1, a free port, its own
 * temporary SQLite file, with its test switches (/_test/faults, /_test/stats) on, as
 * tests/support/ml_receiver.cpp starts it for the integration tests.
 */
export class Receiver {
  static async start({ token = 'e2e-ml-token' } = {}) {
    const python = fs.existsSync('/usr/bin/python3') ? '/usr/bin/python3' : 'python3';
    const r = new Receiver();
    r.token = token;
    r.dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mladmin-e2e-ml-'));
    const script = path.join(repoDir, 'examples/ml-service/receiver.py');
    const err = fs.openSync(path.join(r.dir, 'stderr'), 'a');
    r.child = spawn(python, [script, '--port', '0', '--db', path.join(r.dir, 'ml.db'), '--token', token, '--test-switches'], {
      env: childEnv({ PYTHONUNBUFFERED: '1', ML_SERVICE_TOKEN: '' }),
      stdio: ['ignore', 'pipe', err],
    });
    fs.closeSync(err);
    const child = r.child;
    const reap = () => child.kill('SIGKILL');
    process.once('exit', reap);
    child.once('exit', () => process.removeListener('exit', reap));
    r.exited = new Promise((resolve) => child.once('exit', resolve));
    r.url = await new Promise((resolve, reject) => {
      let out = '';
      const timer = setTimeout(() => reject(new Error(`the reference receiver did not start within 30 s: ${out}${r.stderr()}`)), 30_000);
      child.stdout.on('data', (d) => {
        out += d;
        const m = /listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(out);
        if (m) {
          clearTimeout(timer);
          resolve(m[1]);
        }
      });
      child.once('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`the reference receiver exited ${code}: ${out}${r.stderr()}`));
      });
    });
    child.stdout.resume();
    return r;
  }

  stderr() {
    try {
      return fs.readFileSync(path.join(this.dir, 'stderr'), 'utf8').slice(-2000);
    } catch {
      return '';
    }
  }

  /** GET /_test/<what> (stats, documents). */
  async get(what) {
    const res = await fetch(`${this.url}/_test/${what}`);
    if (!res.ok) throw new Error(`GET /_test/${what} answered ${res.status}`);
    return res.json();
  }

  /** POST /_test/faults: what the next batches meet (see receiver.py's Faults.update). */
  async faults(spec) {
    const res = await fetch(`${this.url}/_test/faults`, { method: 'POST', body: JSON.stringify(spec), headers: { 'Content-Type': 'application/json' } });
    if (!res.ok) throw new Error(`POST /_test/faults answered ${res.status}`);
  }

  async stop() {
    if (!this.child) return;
    this.child.kill('SIGKILL');
    await this.exited;
    this.child = null;
    if (!process.env.E2E_KEEP) fs.rmSync(this.dir, { recursive: true, force: true });
  }
}

// --- the browser ---

export function chromiumArgs() {
  return ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run', '--disable-dev-shm-usage'];
}

export async function launchBrowser() {
  if (!fs.existsSync(CHROMIUM)) {
    throw new Error(`${CHROMIUM} is missing: install Debian's Chromium (apt-get install -y chromium). The end-to-end tests never download a browser.`);
  }
  return chromium.launch({
    executablePath: CHROMIUM,
    args: chromiumArgs(),
    headless: !process.env.E2E_HEADED,
    env: childEnv(),
    timeout: 60_000,
  });
}

function fileName(name) {
  return name.replace(/[^A-Za-z0-9._-]+/g, '-').replace(/^-+|-+$/g, '').slice(0, 120);
}

/** An extra screenshot at a moment worth seeing: `<test name>--<moment>.png`. */
export async function shot(page, t, moment) {
  fs.mkdirSync(screenshotDir, { recursive: true });
  await page.screenshot({ path: path.join(screenshotDir, `${fileName(t.name)}--${fileName(moment)}.png`), fullPage: true, timeout: 15_000 });
}

/**
 * Runs `fn(page)` in a fresh browser context (its own storage, so sessions never leak between
 * tests) and saves a screenshot named after the test whatever happens. On failure, the page's
 * console errors and the server log's tail are added to the error.
 */
export async function withPage(browser, world, t, fn) {
  const context = await browser.newContext({ baseURL: world.baseUrl, viewport: { width: 1280, height: 900 } });
  context.setDefaultTimeout(30_000);
  context.setDefaultNavigationTimeout(30_000);
  const page = await context.newPage();
  const consoleErrors = [];
  page.on('console', (m) => m.type() === 'error' && consoleErrors.push(m.text()));
  page.on('pageerror', (e) => consoleErrors.push(`pageerror: ${e.message}`));
  let failed = null;
  try {
    await fn(page);
  } catch (e) {
    failed = e;
  } finally {
    fs.mkdirSync(screenshotDir, { recursive: true });
    const file = path.join(screenshotDir, `${fileName(t.name)}.png`);
    await page.screenshot({ path: file, fullPage: true, timeout: 15_000 }).catch((e) => console.error(`screenshot ${file}: ${e.message}`));
    await context.close().catch(() => {});
  }
  // The served dashboard has a strict Content-Security-Policy: anything it refuses is a broken page.
  const csp = consoleErrors.filter((m) => /Content Security Policy/i.test(m));
  if (!failed && csp.length) failed = new Error(`Content-Security-Policy violations:\n${csp.join('\n')}`);
  if (failed) {
    failed.message += `\n--- browser console errors:\n${consoleErrors.slice(-20).join('\n') || '(none)'}\n--- server log tail:\n${world.logTail(25)}`;
    throw failed;
  }
}

/** Signs in through the login form, as a person would, and waits for the main navigation. */
export async function login(page, email, password) {
  await page.goto('/login');
  await page.getByLabel('Email').fill(email);
  await page.getByLabel('Password').fill(password);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('navigation', { name: 'Main' }).waitFor({ state: 'visible' });
}

/** A number as the dashboard may print it: 24240, 24,240 or 24 240. */
export function numberPattern(n) {
  const s = String(n);
  const grouped = s.replace(/\B(?=(\d{3})+(?!\d))/g, '[,  \u202f]?');
  return new RegExp(`(^|[^\\d])${grouped}([^\\d]|$)`);
}
