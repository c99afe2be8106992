/* SPDX-License-Identifier: MIT */
/* test-browser.js: the page a running jstpd serves at /, in headless
 * Chromium (Debian's chromium, driven by playwright-core): it shows the
 * engine's status live; a dispatch sent from the page reaches a C
 * subscriber (`jstp bind`); a BIND made in the page receives what
 * `jstp send` posts; answers arrive in the page; the page reconnects and
 * binds again after jstpd is killed and restarted on the same port.
 * A screenshot lands in $TEST_ARTIFACTS_DIR/browser-page.png. */
'use strict';

const fs = require('fs');
const os = require('os');
const path = require('path');
const h = require('./harness');

let chromium;
try {
  ({ chromium } = require('playwright-core'));
} catch (error) {
  h.skip('playwright-core is not installed (tools/bootstrap installs it)');
}
const executablePath = process.env.CHROMIUM || '/usr/bin/chromium';
if (!fs.existsSync(executablePath))
  h.skip(executablePath + ' is missing (Debian package chromium)');

const SERVICES = ['rpc', 'pubsub'];
let engine = null;
let context = null;
let page = null;
let profile = null;
const pageErrors = [];

async function statusUpdates () {
  return Number(await page.getAttribute('#status-card', 'data-updates')) || 0;
}

/* Fills the dispatch form and sends; resolves with the new answer item. */
async function sendFromPage (method, resource, body) {
  const before = await page.locator('#answers li[data-status]').count();
  await page.selectOption('#send-method', method);
  await page.fill('#send-resource', JSON.stringify(resource));
  await page.fill('#send-body', body === undefined ? '' : JSON.stringify(body));
  await page.click('#send-button');
  await page.waitForFunction(
    (n) => document.querySelectorAll('#answers li[data-status]').length > n,
    before, { timeout: 15000 });
  return page.locator('#answers li[data-status]').first();
}

async function receivedTexts () {
  return page.locator('#received li pre').allTextContents();
}

const tests = [
  ['the page loads from a running engine and shows its status live', async () => {
    engine = await h.startJstpd({ services: SERVICES });
    profile = fs.mkdtempSync(path.join(os.tmpdir(), 'jstp-chromium-'));
    context = await chromium.launchPersistentContext(profile, {
      executablePath,
      headless: true,
      viewport: { width: 1280, height: 860 },
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
             '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    });
    page = context.pages()[0] || await context.newPage();
    page.on('pageerror', (error) => pageErrors.push(String(error)));
    page.on('console', (message) => {
      if (message.type() === 'error')
        pageErrors.push(message.text());
    });

    const response = await page.goto('http://127.0.0.1:' + engine.wsPort + '/');
    h.checkEqual(response.status(), 200, 'HTTP status');
    await page.waitForSelector('#state[data-state="open"]', { timeout: 10000 });
    await page.waitForFunction(() => document.getElementById('engine-name').textContent ===
                               'browser-test', null, { timeout: 10000 });
    /* The first figures come from a GET; later ones from the PUTs the
     * engine sends every second to the page's BIND. */
    await h.waitFor(async () => (await statusUpdates()) >= 3, 10000, 'live status updates');
    const rows = await page.locator('#status-table tr').evaluateAll(
      (trs) => trs.map((tr) => tr.dataset.key));
    for (const key of ['cpu', 'memory_used', 'connections', 'dispatches_in_per_s'])
      h.check(rows.includes(key), 'status row ' + key + ' in ' + rows);
    h.check(/%$/.test(await page.textContent('#saturation-text')), 'saturation shown');
  }],

  ['answers arrive in the page', async () => {
    let item = await sendFromPage('GET', ['jstp', 'info']);
    h.checkEqual(await item.getAttribute('data-status'), '200', 'info status');
    h.check((await item.locator('pre').textContent()).includes('"name": "browser-test"'),
            'info body shown');
    item = await sendFromPage('GET', ['rpc', 'add'], { a: 2, b: 3 });
    h.checkEqual(await item.locator('pre').textContent(), '{\n  "result": 5\n}', 'rpc answer');
    item = await sendFromPage('GET', ['rpc', 'add'], { a: 2 });
    h.checkEqual(await item.getAttribute('data-status'), '400', 'argument error');
    item = await sendFromPage('DELETE', ['nothing', 'here']);
    h.checkEqual(await item.getAttribute('data-status'), '404', 'not found');

    /* Bad JSON never leaves the page. */
    await page.fill('#send-resource', '["unterminated"');
    await page.click('#send-button');
    h.checkEqual(await page.textContent('#send-error'), 'The resource is not valid JSON',
                 'form error');
  }],

  ['a dispatch sent from the page reaches a C subscriber', async () => {
    let subscribed = false;
    const bind = h.runCli(['bind', '--count', '1', '--answer', '200', engine.url, 'POST',
                           '["chat","..."]'],
                          { onStderr: (text) => { subscribed = subscribed || /200/.test(text); } });
    await h.waitFor(() => subscribed, 10000, 'jstp bind to subscribe');
    const item = await sendFromPage('POST', ['chat', 'lobby'], { text: 'hello from the page' });
    const result = await bind.done;
    h.checkEqual(result.code, 0, 'jstp bind exit status (' + result.stderr + ')');
    const dispatch = JSON.parse(result.stdout.trim().split('\n')[0]);
    h.checkEqual([dispatch.method, dispatch.resource, dispatch.body],
                 ['POST', ['chat', 'lobby'], { text: 'hello from the page' }],
                 'what the C subscriber printed');
    h.checkEqual(dispatch.protocol, ['JSTP', '0.5'], 'strict protocol header');
    h.checkEqual(await item.getAttribute('data-status'), '200', 'the subscriber\'s answer');
  }],

  ['a BIND from the page receives what the jstp CLI posts', async () => {
    await page.selectOption('#bind-method', 'POST');
    await page.fill('#bind-resource', '["news","..."]');
    await page.click('#bind-button');
    await page.waitForSelector('#bindings li[data-bound="true"]', { timeout: 10000 });

    const result = await h.runCli(['send', 'POST', engine.url, '["news","today"]',
                                   '{"headline":"JSTP in the browser"}']).done;
    h.checkEqual(result.code, 0, 'jstp send exit status (' + result.stderr + ')');
    h.check(/200/.test(result.stderr), 'the page answered 200: ' + result.stderr);
    await h.waitFor(async () => (await receivedTexts()).some(
      (t) => t.includes('JSTP in the browser')), 5000, 'the post in the page');
  }],

  ['the page reconnects and binds again after jstpd restarts', async () => {
    const { tcpPort, wsPort } = engine;
    await engine.stop('SIGKILL');
    await page.waitForSelector('#state[data-state="reconnecting"]', { timeout: 10000 });
    engine = await h.startJstpd({ tcpPort, wsPort, services: SERVICES });
    await page.waitForSelector('#state[data-state="open"]', { timeout: 15000 });

    /* Live status again: the status BIND was sent again. */
    const before = await statusUpdates();
    await h.waitFor(async () => (await statusUpdates()) >= before + 2, 10000,
                    'status updates after the restart');

    /* And the page's own BIND too. */
    const result = await h.runCli(['send', 'POST', engine.url, '["news","later"]',
                                   '{"headline":"back again"}']).done;
    h.checkEqual(result.code, 0, 'jstp send after the restart (' + result.stderr + ')');
    await h.waitFor(async () => (await receivedTexts()).some((t) => t.includes('back again')),
                    5000, 'the post after the restart');
  }],

  ['the page logged no errors', async () => {
    /* Connection refusals while jstpd was down are expected. */
    const real = pageErrors.filter((e) => !/WebSocket connection to .* failed/.test(e));
    h.checkEqual(real, [], 'page errors');

    const dir = process.env.TEST_ARTIFACTS_DIR;
    if (dir) {
      fs.mkdirSync(dir, { recursive: true });
      await sendFromPage('GET', ['rpc', 'add'], { a: 20, b: 22 });
      await page.screenshot({ path: path.join(dir, 'browser-page.png'), fullPage: true });
      console.log('# screenshot: ' + path.join(dir, 'browser-page.png'));
    }
  }],
];

h.run(tests, async () => {
  if (context)
    await context.close();
  if (profile)
    fs.rmSync(profile, { recursive: true, force: true });
  if (engine)
    await engine.stop();
});
