/* SPDX-License-Identifier: MIT */
/* test-client.js: data/jstp.js, unchanged, in Node.js with the `ws`
 * package, against a real jstpd running the built-in services: requests
 * and answers, strict 0.5 output, bindings with captures and answers,
 * timeouts, and reconnection with re-binding after jstpd restarts. */
'use strict';

const h = require('./harness');

try {
  require.resolve('ws');
} catch (error) {
  h.skip('the ws package is not installed (tools/bootstrap installs it)');
}

const JSTP = require(h.clientPath());
const UUID_V4 = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

let engine = null;
const clients = [];
const sent = [];

function connect () {
  const client = JSTP.connect(engine.url, { reconnectMin: 100, reconnectMax: 400 });
  client.on('sent', (text) => sent.push(text));
  clients.push(client);
  return client;
}

function opened (client) {
  return client.state === 'open' ? Promise.resolve()
    : new Promise((resolve) => client.on('open', resolve));
}

const tests = [
  ['pattern matching follows the spec', () => {
    const m = JSTP.match;
    h.checkEqual(m(['a', ':id'], ['a', 'x']), { id: 'x' }, 'capture');
    h.checkEqual(m(['a', ':id'], ['a', 7]), { id: 7 }, 'numeric capture');
    h.checkEqual(m(['a', '...', 'z'], ['a', 'z']), {}, 'empty ellipsis');
    h.checkEqual(m(['a', '...', 'z'], ['a', 1, 2, 'z']), {}, 'ellipsis');
    h.checkEqual(m(['a', '*'], ['a']), null, 'star needs one element');
    h.checkEqual(m(['\\*'], ['*']), {}, 'escaped star');
    h.checkEqual(m(['\\*'], ['x']), null, 'escaped star is literal');
    h.checkEqual(m(['356'], [356]), {}, 'number literal');
    h.checkEqual(m(['a'], ['a', 'b']), null, 'anchored');
    h.check(UUID_V4.test(JSTP.newId()), 'ids are UUID v4');
  }],

  ['requests are answered', async () => {
    engine = await h.startJstpd({ services: ['rpc', 'pubsub', 'presence'] });
    const client = connect();
    const info = await client.request('GET', ['jstp', 'info']);
    h.checkEqual(info.status, 200, 'status');
    h.checkEqual(info.body.name, 'browser-test', 'engine name');
    h.check(info.ok && !info.local, 'a real 2xx answer');
    const sum = await client.request('get', ['rpc', 'add'], { a: 2, b: 40 });
    h.checkEqual([sum.status, sum.body], [200, { result: 42 }], 'rpc add');
    const bad = await client.request('GET', ['rpc', 'add'], { a: 'two', b: 40 });
    h.checkEqual([bad.status, bad.body], [400, { message: 'argument "a" must be a number' }],
                 'argument error');
    const failed = await client.request('GET', ['rpc', 'fail'], { message: 'no' });
    h.checkEqual([failed.status, failed.body], [500, { message: 'no' }], 'handler failure');
    h.checkEqual((await client.request('GET', ['nobody', 'here'])).status, 404, 'not found');
  }],

  ['output is strict JSTP 0.5', () => {
    h.check(sent.length > 0, 'something was sent');
    for (const text of sent) {
      const d = JSON.parse(text);
      h.checkEqual(d.protocol, ['JSTP', '0.5'], 'protocol');
      h.check(d.method === d.method.toUpperCase(), 'upper-case method ' + d.method);
      h.check(Number.isInteger(d.timestamp) && d.timestamp > 1.7e12, 'timestamp');
      if (d.method === 'BIND' || d.method === 'RELEASE')
        h.check(d.endpoint && !('resource' in d), 'subscriptions carry an endpoint only');
      else
        h.check(Array.isArray(d.resource) && d.resource.length > 0, 'resource');
      if (d.token)
        h.check(UUID_V4.test(d.token[0]), 'transaction id ' + d.token[0]);
    }
  }],

  ['bindings receive, capture and answer', async () => {
    const follower = connect();
    const poster = connect();
    const seen = [];
    const room = follower.bind('POST', ['chat', ':room'], (message) => {
      seen.push([message.captures.room, message.body]);
      return { thanks: message.body.n };
    });
    h.checkEqual(await room.ready, 200, 'BIND acknowledged');
    await opened(poster);
    const answer = await poster.request('POST', ['chat', 'lobby'], { n: 1 });
    h.checkEqual([answer.status, answer.body], [200, { thanks: 1 }], 'answered by the callback');
    h.checkEqual(seen, [['lobby', { n: 1 }]], 'received with captures');

    const broken = follower.bind('PUT', ['broken'], () => { throw new Error('nope'); });
    follower.on('error', () => {});
    await broken.ready;
    const refused = await poster.request('PUT', ['broken']);
    h.checkEqual([refused.status, refused.body], [500, { message: 'nope' }], 'a throw is 500');

    /* Two bindings of one endpoint share the engine's subscription. */
    const twice = [];
    const again = follower.bind('POST', ['chat', ':room'],
                                (message) => { twice.push(message.body); }, { answer: false });
    await again.ready;
    await poster.request('POST', ['chat', 'lobby'], { n: 3 });
    h.checkEqual([seen.length, twice.length], [2, 1], 'both bindings called');
    h.checkEqual(await again.release(), null, 'no RELEASE while the other needs it');
    await poster.request('POST', ['chat', 'lobby'], { n: 4 });
    h.checkEqual([seen.length, twice.length], [3, 1], 'the other still receives');

    h.checkEqual((await room.release()).status, 200, 'RELEASE acknowledged');
    h.checkEqual((await poster.request('POST', ['chat', 'lobby'], { n: 2 })).status, 404,
                 'nobody bound after RELEASE');
    h.checkEqual(seen.length, 3, 'nothing after RELEASE');
  }],

  ['pubsub and presence through the client', async () => {
    const alice = connect();
    const bob = connect();
    const posts = [];
    const leaves = [];
    await bob.bind('POST', ['pubsub', 'news'], (message) => { posts.push(message.body); }).ready;
    await bob.bind('POST', ['presence', 'news', 'leave'],
                   (message) => { leaves.push(message.body); }).ready;
    await opened(alice);
    const answers = [];
    alice.emit('POST', ['pubsub', 'news'], { headline: 'hi' }, (answer) => answers.push(answer));
    await h.waitFor(() => answers.some((a) => a.body && a.body.seq === 1), 5000, 'the seq');
    await h.waitFor(() => posts.length === 1, 5000, 'the post');
    const history = await alice.request('GET', ['pubsub', 'news']);
    h.checkEqual(history.body.messages.map((m) => m.body), [{ headline: 'hi' }], 'history');

    const joined = await alice.request('PUT', ['presence', 'news'], { name: 'alice' });
    h.checkEqual(joined.body.members.map((m) => m.name), ['alice'], 'members');
    alice.close();
    await h.waitFor(() => leaves.length === 1, 5000, 'the leave event');
    h.checkEqual([leaves[0].member.name, leaves[0].reason], ['alice', 'closed'], 'leave event');
  }],

  ['no answer in time is a local 504; a closed client answers 502', async () => {
    const quiet = connect();
    const asker = connect();
    await quiet.bind('GET', ['quiet'], () => {}, { answer: false }).ready;
    await opened(asker);
    const late = await asker.request('GET', ['quiet'], undefined, { timeout: 300 });
    h.checkEqual([late.status, late.local], [504, true], 'timeout');
    const pending = asker.request('GET', ['quiet']);
    asker.close();
    const closed = await pending;
    h.checkEqual([closed.status, closed.local], [502, true], 'closed');
    quiet.close();
  }],

  ['reconnects and re-binds after jstpd restarts', async () => {
    const client = connect();
    const posts = [];
    const binding = client.bind('POST', ['pubsub', 'after'], (m) => { posts.push(m.body); });
    await binding.ready;
    let bound = 0;
    client.on('bound', () => bound++);
    const reopened = new Promise((resolve) => client.on('open', resolve));

    const { tcpPort, wsPort } = engine;
    await engine.stop('SIGKILL');
    await h.waitFor(() => client.state === 'reconnecting', 5000, 'the client to notice');
    /* Sent while the engine is down: queued, then sent on reconnection. */
    const queued = client.request('GET', ['rpc', 'echo'], 'queued');
    engine = await h.startJstpd({ tcpPort, wsPort, services: ['rpc', 'pubsub', 'presence'] });
    h.checkEqual((await reopened).reconnected, true, 'reconnected');
    h.checkEqual((await queued).body, 'queued', 'queued request answered');
    await h.waitFor(() => bound === 1, 5000, 'the BIND to be sent again');

    const poster = connect();
    await opened(poster);
    const answer = await poster.request('POST', ['pubsub', 'after'], 'again');
    h.checkEqual(answer.status, 200, 'posted');
    await h.waitFor(() => posts.length === 1, 5000, 'the post after the restart');
    h.checkEqual(posts, ['again'], 'received after the restart');
  }],
];

h.run(tests, async () => {
  for (const client of clients)
    client.close();
  if (engine)
    await engine.stop();
});
