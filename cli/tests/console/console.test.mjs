// The web console of `cosmosc serve` in a real browser: Debian's headless Chromium
// driven by playwright-core, against a real `cosmosc serve` running a copy of
// examples/encode with a token. A person's path through it: log in with the token,
// find the stalled instance from the list, read on its page why "transcode the
// ladder" does not fire, send the `review` signal through the generated form (after
// the browser refused it empty), and watch the instance complete; a hostile reviewer
// name stays text; a cross-site form POST is refused. Screenshots of each page go to
// $CONSOLE_SCREENS (default: screens/ here).
//
// Needs: cosmosc at $COSMOSC (or target/debug/cosmosc), Chromium at $CHROMIUM (or
// /usr/bin/chromium), `npm ci` here.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import readline from 'node:readline';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const here = path.dirname(fileURLToPath(import.meta.url));
const repo = path.resolve(here, '..', '..', '..');
const targetDir = process.env.CARGO_TARGET_DIR ? path.resolve(process.env.CARGO_TARGET_DIR) : path.join(repo, 'target');
const cosmosc = path.resolve(process.env.COSMOSC || path.join(targetDir, 'debug', 'cosmosc'));
const chromiumPath = process.env.CHROMIUM || '/usr/bin/chromium';
const screens = path.resolve(process.env.CONSOLE_SCREENS || path.join(here, 'screens'));
const TOKEN = 'console-test-token';
const HOSTILE = '<script>window.__xss=1</script><img src=x onerror="window.__xss=2">';
/** How long one state of a page may take to appear. */
const STEP_MS = 30_000;

let scratch;
let server;
let base;
let browser;
let context;
const ids = {};

/** Starts `cosmosc serve` on a copy of the example; resolves to its base URL. */
function serve(project) {
  return new Promise((resolve, reject) => {
    const child = spawn(cosmosc, ['serve', '.', '--listen', '127.0.0.1:0', '--store', 'state.db'], {
      cwd: project,
      env: { ...process.env, COSMOS_TOKEN: TOKEN },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    server = child;
    const lines = readline.createInterface({ input: child.stderr });
    lines.on('line', (line) => {
      const match = /listening on (http:\/\/\S+)/.exec(line);
      if (match) resolve(match[1]);
    });
    child.on('exit', (code) => reject(new Error(`cosmosc serve exited with ${code} before listening`)));
  });
}

async function api(method, url, body) {
  const response = await fetch(base + url, {
    method,
    headers: { Authorization: `Bearer ${TOKEN}`, 'Content-Type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const json = await response.json();
  if (!response.ok) throw new Error(`${method} ${url}: ${response.status} ${JSON.stringify(json)}`);
  return json;
}

async function waitForStatus(id, status) {
  const start = Date.now();
  for (;;) {
    const instance = await api('GET', `/v1/instances/${id}`);
    if (instance.status === status) return instance;
    if (Date.now() - start > STEP_MS) throw new Error(`${id} is ${instance.status}, not ${status}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

async function shot(page, name) {
  fs.mkdirSync(screens, { recursive: true });
  await page.screenshot({ path: path.join(screens, `${name}.png`), fullPage: true });
}

/** A page of a logged-in context. */
async function loggedIn() {
  const page = await context.newPage();
  page.setDefaultTimeout(STEP_MS);
  page.on('pageerror', (e) => assert.fail(`a script error on ${page.url()}: ${e.message}`));
  return page;
}

before(async () => {
  scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'cosmos-console-'));
  const project = path.join(scratch, 'encode');
  fs.cpSync(path.join(repo, 'examples', 'encode'), project, {
    recursive: true,
    filter: (source) => !source.includes(`${path.sep}.cosmos`),
  });
  base = await serve(project);
  // A long source stalls (it waits for a reviewer); a short one completes alone.
  ids.stalled = (await api('POST', '/v1/workflows/Transcode/instances', { source: 's3://media/long.mov' })).id;
  ids.short = (await api('POST', '/v1/workflows/Transcode/instances', { source: 's3://media/d.mov' })).id;
  ids.hostile = (await api('POST', '/v1/workflows/Transcode/instances', { source: 's3://media/long.mov' })).id;
  ids.kept = (await api('POST', '/v1/workflows/Transcode/instances', { source: 's3://media/long.mov' })).id;
  await waitForStatus(ids.stalled, 'STALLED');
  await waitForStatus(ids.short, 'COMPLETED');
  await waitForStatus(ids.hostile, 'STALLED');
  await waitForStatus(ids.kept, 'STALLED');
  browser = await chromium.launch({
    executablePath: chromiumPath,
    headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'],
  });
  context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
});

after(async () => {
  if (browser) await browser.close();
  if (server) server.kill('SIGKILL');
  if (scratch) fs.rmSync(scratch, { recursive: true, force: true });
});

test('the token is asked for once and kept in an HttpOnly SameSite=Strict cookie', async () => {
  const page = await loggedIn();
  await page.goto(`${base}/`);
  assert.equal(new URL(page.url()).pathname, '/login', 'a browser without a session lands on the login page');
  await shot(page, '01-login');
  await page.fill('#token', 'not-the-token');
  await page.click('form.login button');
  await page.waitForSelector('p.error');
  assert.match(await page.textContent('p.error'), /not the token/);
  await page.fill('#token', TOKEN);
  await page.click('form.login button');
  await page.waitForSelector('h1:text("Instances")');
  const cookies = await context.cookies(base);
  const session = cookies.find((c) => c.name === 'cosmos_session');
  assert.ok(session, 'a session cookie');
  assert.equal(session.httpOnly, true);
  assert.equal(session.sameSite, 'Strict');
  assert.equal(await page.evaluate(() => document.cookie), '', 'scripts cannot read the session');
  await page.close();
});

test('the stalled instance is found from the list, explained, signalled through its form, and completes', async () => {
  const page = await loggedIn();
  await page.goto(`${base}/`);
  await shot(page, '02-instances');
  await page.click('ul.counts a.stalled');
  await page.waitForURL(/status=STALLED/);
  await page.click(`a.id:text("${ids.stalled}")`);
  await page.waitForURL(`${base}/instances/${ids.stalled}`);
  assert.equal(await page.getAttribute('#summary dd[data-status]', 'data-status'), 'STALLED');

  // Why "transcode the ladder" does not fire: its match is false because no one reviewed.
  const rule = page.locator('article[data-rule="transcode the ladder"]');
  assert.match(await rule.locator('.state').textContent(), /not matching/);
  const reviewer = rule
    .locator('tr')
    .filter({ has: page.locator('td:first-child code', { hasText: /^reviewer != null$/ }) });
  assert.equal(await reviewer.locator('td').nth(2).textContent(), 'false');
  assert.equal(await reviewer.getAttribute('class'), 'false');
  await shot(page, '03-instance-stalled');

  // The generated form: `by: String` is required, so the browser refuses it empty.
  const form = page.locator('form[data-signal="review"]');
  await form.locator('button[type=submit]').click();
  assert.equal(await form.locator('input[name="arg.by"]').evaluate((i) => i.validity.valueMissing), true);
  assert.equal(page.url(), `${base}/instances/${ids.stalled}`, 'nothing was sent');
  assert.equal((await api('GET', `/v1/instances/${ids.stalled}`)).facts.reviewer, null);

  await form.locator('input[name="arg.by"]').fill('mei');
  await form.locator('button[type=submit]').click();
  await page.waitForSelector('p.notice:text("Signal review was sent.")');
  // The page refreshes itself until the transcodes are done.
  await page.waitForSelector('#summary dd[data-status="COMPLETED"]');
  const done = await api('GET', `/v1/instances/${ids.stalled}`);
  assert.equal(done.status, 'COMPLETED');
  assert.equal(done.facts.reviewer, 'mei');
  assert.match(await page.textContent('#summary'), /renditions/);
  // A finished instance takes no signal: its forms went with the refresh.
  await page.waitForSelector('form[data-signal="review"]', { state: 'detached' });
  await shot(page, '04-instance-completed');

  // Narrow windows get one column and no sideways scrolling of the page.
  await page.setViewportSize({ width: 390, height: 800 });
  await page.reload();
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  assert.ok(overflow <= 0, `the page scrolls sideways by ${overflow}px on a narrow window`);
  await shot(page, '05-instance-narrow');
  await page.close();
});

test('a hostile fact value shows as text', async () => {
  const page = await loggedIn();
  await page.goto(`${base}/instances/${ids.hostile}`);
  const form = page.locator('form[data-signal="review"]');
  await form.locator('input[name="arg.by"]').fill(HOSTILE);
  await form.locator('button[type=submit]').click();
  await page.waitForSelector('p.notice');
  await page.waitForSelector('#summary dd[data-status="COMPLETED"]');
  const fact = page.locator('dd[data-fact="reviewer"]');
  assert.equal((await fact.textContent()).trim(), JSON.stringify(HOSTILE));
  assert.equal(await page.evaluate(() => window.__xss), undefined, 'no script of the fact ran');
  assert.equal(await page.locator('img[src="x"]').count(), 0, 'no element of the fact was made');
  await shot(page, '06-instance-hostile');
  await page.close();
});

test('a cross-site POST is refused and changes nothing', async () => {
  const page = await loggedIn();
  // Read a real CSRF token, as an attacker who saw one would have it.
  await page.goto(`${base}/instances/${ids.kept}`);
  // What is typed in a form survives the page refreshing itself.
  await page.fill('form[data-signal="review"] input[name="arg.by"]', 'draft');
  await page.locator('form[data-signal="review"] input[name="arg.by"]').evaluate((e) => e.blur());
  await page.waitForSelector('.live-indicator:text("updated")');
  assert.equal(await page.inputValue('form[data-signal="review"] input[name="arg.by"]'), 'draft');
  const csrf = await page.getAttribute('form[data-signal="review"] input[name="csrf"]', 'value');
  const evil = http.createServer((_, response) => {
    response.setHeader('Content-Type', 'text/html');
    response.end(`<!DOCTYPE html><form id="f" method="post" action="${base}/instances/${ids.kept}/cancel">
      <input name="csrf" value="${csrf}"></form><script>document.getElementById('f').submit()</script>`);
  });
  await new Promise((resolve) => evil.listen(0, '127.0.0.2', resolve));
  try {
    const { port } = evil.address();
    const answer = page.waitForResponse((r) => r.url() === `${base}/instances/${ids.kept}/cancel`);
    await page.goto(`http://127.0.0.2:${port}/`);
    const response = await answer;
    assert.equal(response.status(), 403);
    await page.waitForSelector('p.error');
    assert.match(await page.textContent('p.error'), /Refused/);
    await shot(page, '07-cross-site-refused');
  } finally {
    evil.close();
  }
  const kept = await api('GET', `/v1/instances/${ids.kept}`);
  assert.equal(kept.status, 'STALLED', 'the instance was not cancelled');
  await page.close();
});

test('the workflow, and the queues and pools', async () => {
  const page = await loggedIn();
  await page.goto(`${base}/workflows/Transcode`);
  assert.equal(await page.locator('svg.graph g.node.rule').count(), 3);
  assert.ok((await page.locator('svg.graph path.edge.reads').count()) > 0);
  assert.ok((await page.locator('svg.graph path.edge.writes').count()) > 0);
  // Its firings over the instances, as each instance's explanation counts them.
  let fired = 0;
  for (const id of Object.values(ids)) {
    const { rules } = await api('GET', `/v1/instances/${id}/rules`);
    fired += rules.find((r) => r.rule === 'transcode the ladder').fired;
  }
  assert.ok(fired >= 2, `the short instance and the signalled one transcoded: ${fired}`);
  const row = page.locator('tr', { hasText: '"transcode the ladder"' });
  assert.equal(await row.locator('td').nth(4).textContent(), String(fired));
  assert.match(await page.textContent('pre.source'), /workflow Transcode/);
  await shot(page, '08-workflow');

  // Keyboard: g s goes to the queues and pools.
  await page.keyboard.press('g');
  await page.keyboard.press('s');
  await page.waitForURL(`${base}/system`);
  assert.match(await page.textContent('main'), /transcoders/);
  // The registry of workers: this node runs the functions itself, and is listed alive.
  assert.match(await page.textContent('#workers'), /\(this node\)\s*node\s*default, transcoders\s*alive/);
  await shot(page, '09-system');

  // Keyboard: / focuses the search, j moves to the first instance, Enter opens it.
  await page.goto(`${base}/`);
  await page.keyboard.press('/');
  assert.equal(await page.evaluate(() => document.activeElement.id), 'search');
  await page.locator('#search').evaluate((e) => e.blur());
  await page.keyboard.press('j');
  const first = await page.evaluate(() => document.activeElement.textContent);
  await page.keyboard.press('Enter');
  await page.waitForURL(`${base}/instances/${first}`);
  await page.close();
});
