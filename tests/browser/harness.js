/* SPDX-License-Identifier: MIT */
/* harness.js: what the browser and Node client tests share: a real jstpd
 * (the built one, from $JSTPD), the built `jstp` CLI (from $JSTP_CLI), and
 * a small sequential runner that prints TAP lines.
 *
 * Meson runs these tests with the exit-code protocol: 0 passed, 1 failed,
 * 77 skipped (when node packages or chromium are missing). */
'use strict';

const { spawn } = require('child_process');
const path = require('path');

const SKIP = 77;

function skip (reason) {
  console.log('1..0 # SKIP ' + reason);
  process.exit(SKIP);
}

function sleep (ms) {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/* Polls @condition (sync or async) until it is truthy; throws after @ms. */
async function waitFor (condition, ms, what) {
  const end = Date.now() + ms;
  for (;;) {
    const value = await condition();
    if (value)
      return value;
    if (Date.now() > end)
      throw new Error('timed out waiting for ' + what);
    await sleep(50);
  }
}

function check (value, message) {
  if (!value)
    throw new Error(message);
}

function checkEqual (actual, expected, what) {
  const a = JSON.stringify(actual), e = JSON.stringify(expected);
  if (a !== e)
    throw new Error(what + ': expected ' + e + ', got ' + a);
}

/* Starts jstpd; resolves once it printed its listening line. Ports 0 pick
 * free ones; pass the ports of a previous run to restart on them. */
function startJstpd (options = {}) {
  const binary = process.env.JSTPD;
  check(binary, 'JSTPD is not set (meson sets it to the built jstpd)');
  const args = ['--listen', '127.0.0.1', '--name', options.name || 'browser-test',
                '--tcp-port', String(options.tcpPort || 0),
                '--ws-port', String(options.wsPort || 0)];
  for (const service of options.services || [])
    args.push('--service', service);
  const child = spawn(binary, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (chunk) => { stderr += chunk; });
  return new Promise((resolve, reject) => {
    let stdout = '';
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error('jstpd did not start: ' + stderr));
    }, 10000);
    child.on('exit', (code) => {
      clearTimeout(timer);
      reject(new Error('jstpd exited with ' + code + ': ' + stderr));
    });
    child.stdout.on('data', (chunk) => {
      stdout += chunk;
      const line = /jstpd listening: tcp 127\.0\.0\.1:(\d+) ws 127\.0\.0\.1:(\d+)/.exec(stdout);
      if (!line)
        return;
      clearTimeout(timer);
      child.removeAllListeners('exit');
      resolve({
        child,
        tcpPort: Number(line[1]),
        wsPort: Number(line[2]),
        url: 'ws://127.0.0.1:' + line[2] + '/',
        stderr: () => stderr,
        stop: (signal = 'SIGTERM') => new Promise((done) => {
          if (child.exitCode !== null || child.signalCode !== null)
            return done();
          child.once('exit', () => done());
          child.kill(signal);
        }),
      });
    });
  });
}

/* Runs the jstp CLI. Resolves {code, stdout, stderr}; @onStderr sees the
 * standard error as it comes (to know when `jstp bind` is subscribed). */
function runCli (args, options = {}) {
  const binary = process.env.JSTP_CLI;
  check(binary, 'JSTP_CLI is not set (meson sets it to the built jstp)');
  const child = spawn(binary, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  const result = { code: null, stdout: '', stderr: '' };
  const done = new Promise((resolve) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), options.timeout || 15000);
    child.stdout.on('data', (chunk) => { result.stdout += chunk; });
    child.stderr.on('data', (chunk) => {
      result.stderr += chunk;
      if (options.onStderr)
        options.onStderr(result.stderr);
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      result.code = code === null ? signal : code;
      resolve(result);
    });
  });
  return { child, result, done };
}

/* Runs the tests in order and exits: 0 when all passed, 1 otherwise. */
async function run (tests, teardown) {
  let failed = 0;
  console.log('1..' + tests.length);
  for (let i = 0; i < tests.length; i++) {
    const [name, fn] = tests[i];
    try {
      await fn();
      console.log('ok ' + (i + 1) + ' - ' + name);
    } catch (error) {
      failed++;
      console.log('not ok ' + (i + 1) + ' - ' + name);
      for (const line of String(error && error.stack || error).split('\n'))
        console.log('# ' + line);
    }
  }
  try {
    if (teardown)
      await teardown();
  } catch (error) {
    console.log('# teardown: ' + error);
  }
  console.log('# ' + (tests.length - failed) + ' passed, ' + failed + ' failed');
  process.exit(failed ? 1 : 0);
}

/* The client under test, loaded from the source tree as a program would. */
function clientPath () {
  const root = process.env.JSTP_SOURCE_ROOT || path.join(__dirname, '..', '..');
  return path.join(root, 'data', 'jstp.js');
}

module.exports = { SKIP, skip, sleep, waitFor, check, checkEqual, startJstpd, runCli, run,
                   clientPath };
