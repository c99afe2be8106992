#!/usr/bin/env node
// SPDX-License-Identifier: MIT
//
// peer.js: runs the reference JSTP engine (npm `jstp` 1.1.5, see README.md)
// as the peer of the interop tests, driven by JSON lines on stdin and
// reporting JSON lines on stdout.
//
// USAGE
//   node peer.js serve  [--listen ADDR] [--tcp PORT] [--ws PORT] [--quiet] [--cmd JSON]...
//   node peer.js client --port PORT [--host ADDR] [--transport tcp|ws] [--quiet] [--cmd JSON]...
//
//   serve   listens on ADDR (127.0.0.1) for TCP and WebSocket; port 0 (the
//           default) picks a free one. Binds the recorder (below).
//   client  talks to the engine at ADDR:PORT over TRANSPORT (default tcp):
//           `send`, `bind` and `release` go there unless they say "to".
//   --cmd   runs a command before reading stdin (repeatable).
//   --quiet drops the reference engine's own log; by default it goes to
//           stderr, coloured, one line per dispatch.
//
// STDOUT: one JSON object per line, written as each event happens, nothing
// else. Every object has "event":
//   {"event":"listening","tcp":PORT,"ws":PORT}        serve: ready for connections
//   {"event":"ready","target":{"host":H,"port":P,"transport":T}}
//                                                     client: ready for commands
//   {"event":"connected","direction":"in"|"out","transport":"tcp"|"ws","remote":"H:P"}
//   {"event":"disconnected","direction":"in"|"out","transport":"tcp"|"ws","remote":"H:P"}
//   {"event":"received","id":ID,"dispatch":D}  a callback bound in this process
//       saw D; ID is the id of the `bind` command, or null for the recorder
//   {"event":"answer","id":ID,"dispatch":D}    an ANSWER reached the callback
//       of command ID (`emit`/`send` with "answer":true, or a `bind` whose
//       BIND was acknowledged)
//   {"event":"done","cmd":NAME,"id":ID}        command handed to the engine
//       (not a delivery receipt: the reference engine acknowledges nothing)
//   {"event":"error","id":ID,"message":TEXT}   bad command, socket error, ...
//
// STDIN: one JSON command per line; "id" is optional and echoed back.
//   {"cmd":"emit","dispatch":D,"answer":BOOL}   process D on this engine: its
//       own callbacks and remote engines subscribed here receive it; a "host"
//       header in D makes the reference forward it instead
//   {"cmd":"send","dispatch":D,"answer":BOOL,"to":TARGET}   emit D with TARGET
//       put first in its "host" header, so the reference forwards it there;
//       TARGET = {"host":H,"port":P,"transport":"tcp"|"ws"}, default: the
//       client target
//   {"cmd":"bind","endpoint":E,"to":TARGET}     BIND E on TARGET (the reference
//       also binds E locally; that is how the matches reach us); with no
//       target (serve mode), bind E in this process only
//   {"cmd":"release","endpoint":E,"to":TARGET}  the same for RELEASE
//   {"cmd":"answer","dispatch":D,"status":N,"body":B}   answer a dispatch seen
//       in a `received` event (its token says which transaction)
//   {"cmd":"disconnect"}   close every connection, in and out; the servers
//       keep listening and the next `send` connects again
//   {"cmd":"quit"}         close everything and exit 0; so do stdin EOF,
//       SIGTERM and SIGINT
//
// The RECORDER (serve mode) is bound to method `*` and the resources
// ["interop"], ["interop","*"], ... up to eight elements: the reference
// engine matches only `*` and only resources of the pattern's length, so one
// pattern per length stands in for ["interop","..."]. It reports every
// dispatch it sees (BIND and RELEASE of ["interop",...] endpoints included)
// and answers GET ["interop","echo"] with 200 and the dispatch's body when
// the dispatch carries a transaction id. Callbacks bound by `bind` commands
// answer GET ["interop","echo"] the same way.
//
// Departures from the bare reference engine, all to keep the peer alive and
// observable (README.md says why): the TCP server listens on ADDR and port 0
// works; inbound TCP sockets get an error handler (a reset would otherwise
// crash the process); WebSocket errors are reported instead of thrown; WS
// commands to a target wait until the connection the reference is opening
// there is open (it would open a second one otherwise).

'use strict';

const http = require('http');
const net = require('net');
const readline = require('readline');
const util = require('util');

// STDOUT IS THE PROTOCOL: the reference engine logs every dispatch with
// console.log, so the console goes to stderr (or nowhere) before it loads.
const quiet = process.argv.includes('--quiet');
for (const name of ['log', 'info', 'warn', 'error', 'debug']) {
  console[name] = quiet
    ? () => {}
    : (...args) => process.stderr.write(util.format(...args) + '\n');
}

function emitEvent(event) {
  // Pipes are synchronous on Linux: each line is out before the next
  // statement, and nothing is lost at exit.
  process.stdout.write(JSON.stringify(event) + '\n');
}

process.stdout.on('error', () => process.exit(0));   // reader gone

// Outbound connections are opened inside the reference's client pools; wrap
// the two constructors they use so that the peer can see and close them.
// Both must be in place before the reference engine is loaded.
const outbound = new Set();        // net.Socket (tcp) and faye clients (ws)
const wsClients = new Map();       // "host:port" → the newest faye client

const originalConnect = net.connect;
net.connect = function (...args) {
  const socket = originalConnect.apply(this, args);
  trackOutboundTcp(socket);
  return socket;
};

const faye = require('faye-websocket');
const OriginalClient = faye.Client;
faye.Client = function (url, protocols, options) {
  const client = new OriginalClient(url, protocols, options);
  trackOutboundWs(client, url);
  return client;
};

const jstp = require('jstp');

const RECORDER_MAX_LENGTH = 8;
const WS_OPEN_TIMEOUT_MS = 5000;

let mode = null;
let target = null;                 // client mode: default destination
let tcpServer = null;
let httpServer = null;
let shuttingDown = false;

// One context for every endpoint this process binds: the reference engine
// matches RELEASE to BIND by endpoint and context.
const peerContext = { name: 'interop-peer' };
const recorderContext = { name: 'interop-recorder' };

function parseArgs(argv) {
  const options = { listen: '127.0.0.1', host: '127.0.0.1', tcp: 0, ws: 0,
                    port: null, transport: 'tcp', cmds: [] };
  const rest = argv.slice(2);

  mode = rest.shift();
  if (mode !== 'serve' && mode !== 'client')
    usage(`unknown mode ${JSON.stringify(mode)}`);

  while (rest.length > 0) {
    const arg = rest.shift();
    const value = () => {
      if (rest.length === 0)
        usage(`${arg} needs a value`);
      return rest.shift();
    };

    switch (arg) {
      case '--listen': options.listen = value(); break;
      case '--tcp': options.tcp = Number(value()); break;
      case '--ws': options.ws = Number(value()); break;
      case '--host': options.host = value(); break;
      case '--port': options.port = Number(value()); break;
      case '--transport': options.transport = value(); break;
      case '--cmd': options.cmds.push(value()); break;
      case '--quiet': break;
      default: usage(`unknown option ${arg}`);
    }
  }

  if (mode === 'client' && !(options.port > 0))
    usage('client mode needs --port');
  if (options.transport !== 'tcp' && options.transport !== 'ws')
    usage('--transport is tcp or ws');

  return options;
}

function usage(message) {
  process.stderr.write(`peer.js: ${message}\n` +
    'usage: node peer.js serve [--listen ADDR] [--tcp PORT] [--ws PORT]\n' +
    '                          [--quiet] [--cmd JSON]...\n' +
    '       node peer.js client --port PORT [--host ADDR] [--transport tcp|ws]\n' +
    '                          [--quiet] [--cmd JSON]...\n');
  process.exit(2);
}

function remoteOf(socket) {
  // A socket reset before it was accepted has no address any more.
  if (socket.remoteAddress === undefined)
    return '?';
  return `${socket.remoteAddress}:${socket.remotePort}`;
}

function trackOutboundTcp(socket) {
  let remote = '?';

  outbound.add(socket);
  socket.on('connect', () => {
    remote = remoteOf(socket);
    emitEvent({ event: 'connected', direction: 'out', transport: 'tcp', remote });
  });
  socket.on('error', (error) => {
    emitEvent({ event: 'error', id: null, message: `outbound tcp: ${error.message}` });
  });
  socket.on('close', () => {
    outbound.delete(socket);
    emitEvent({ event: 'disconnected', direction: 'out', transport: 'tcp', remote });
  });
}

function trackOutboundWs(client, url) {
  const parsed = new URL(url);
  const remote = `${parsed.hostname}:${parsed.port}`;
  const settled = [];

  client.peerSettle = () => settled.splice(0).forEach((resolve) => resolve());
  client.peerWaitOpen = () => new Promise((resolve) => {
    if (client.readyState !== 0)
      resolve();
    else
      settled.push(resolve);
  });

  outbound.add(client);
  wsClients.set(remote, client);

  client.on('open', () => {
    emitEvent({ event: 'connected', direction: 'out', transport: 'ws', remote });
    client.peerSettle();
  });
  // Without a listener, an 'error' event would be thrown by the emitter.
  client.on('error', (event) => {
    emitEvent({ event: 'error', id: null, message: `outbound ws: ${event.message || 'error'}` });
  });
  client.on('close', () => {
    outbound.delete(client);
    if (wsClients.get(remote) === client)
      wsClients.delete(remote);
    emitEvent({ event: 'disconnected', direction: 'out', transport: 'ws', remote });
    client.peerSettle();
  });
}

// The reference's WS pool opens a second connection when asked to send while
// the first is still connecting, and loses track of one of them: wait.
async function waitForTarget(to) {
  if (to.transport !== 'ws')
    return;

  const client = wsClients.get(`${to.host}:${to.port}`);
  if (client === undefined || client.readyState !== 0)
    return;

  let timer;
  const timeout = new Promise((resolve) => { timer = setTimeout(resolve, WS_OPEN_TIMEOUT_MS); });
  await Promise.race([client.peerWaitOpen(), timeout]);
  clearTimeout(timer);
}

function sameResource(a, b) {
  return Array.isArray(a) && a.length === b.length && a.every((x, i) => x === b[i]);
}

function makeCallback(id) {
  return function (engine, answer, dispatch) {
    if (answer) {
      emitEvent({ event: 'answer', id, dispatch: answer });
      return;
    }

    emitEvent({ event: 'received', id, dispatch });

    if (typeof dispatch.method === 'string' && dispatch.method.toUpperCase() === 'GET' &&
        sameResource(dispatch.resource, ['interop', 'echo']) &&
        Array.isArray(dispatch.token) && dispatch.token[0])
      engine.answer(dispatch, 200, dispatch.body);
  };
}

function hopOf(to) {
  if (!to || typeof to.host !== 'string' || !(Number(to.port) > 0) ||
      (to.transport !== 'tcp' && to.transport !== 'ws'))
    throw new Error('"to" must be {"host":H,"port":P,"transport":"tcp"|"ws"}');
  return [to.host, Number(to.port), to.transport];
}

function withHop(pack, to) {
  const copy = Object.assign({}, pack);
  copy.host = [hopOf(to)].concat(Array.isArray(pack.host) ? pack.host : []);
  return copy;
}

function requireObject(value, name) {
  if (value === null || typeof value !== 'object' || Array.isArray(value))
    throw new Error(`"${name}" must be a JSON object`);
  return value;
}

async function runCommand(command) {
  const id = command.id === undefined ? null : command.id;
  const to = command.to || target;

  switch (command.cmd) {
    case 'emit': {
      const dispatch = requireObject(command.dispatch, 'dispatch');
      jstp.dispatch(Object.assign({}, dispatch), command.answer ? makeCallback(id) : undefined,
                    peerContext);
      break;
    }

    case 'send': {
      const dispatch = requireObject(command.dispatch, 'dispatch');
      if (!to)
        throw new Error('send needs "to" in serve mode');
      await waitForTarget(to);
      jstp.dispatch(withHop(dispatch, to), command.answer ? makeCallback(id) : undefined,
                    peerContext);
      break;
    }

    case 'bind':
    case 'release': {
      const endpoint = requireObject(command.endpoint, 'endpoint');
      const pack = { endpoint };
      if (to) {
        await waitForTarget(to);
        pack.host = [hopOf(to)];
      }
      // BIND needs a callback in the reference engine; a RELEASE only the
      // context, but the same callback shape keeps its answers visible.
      jstp[command.cmd](pack, makeCallback(id), peerContext);
      break;
    }

    case 'answer': {
      const source = command.dispatch ? requireObject(command.dispatch, 'dispatch')
                                      : { token: command.token };
      if (!Array.isArray(source.token) || !source.token[0])
        throw new Error('answer needs a dispatch (or "token") with a transaction id');
      jstp.answer(source, Number(command.status) || 200, command.body);
      break;
    }

    case 'disconnect':
      disconnectAll();
      break;

    case 'quit':
      emitEvent({ event: 'done', cmd: 'quit', id });
      shutdown(0);
      return;

    default:
      throw new Error(`unknown cmd ${JSON.stringify(command.cmd)}`);
  }

  emitEvent({ event: 'done', cmd: command.cmd, id });
}

// Commands run one after the other, in the order they came.
let queue = Promise.resolve();

function enqueue(line) {
  const text = line.trim();
  if (text === '')
    return;

  queue = queue.then(async () => {
    let command;
    try {
      command = JSON.parse(text);
      requireObject(command, 'command');
    } catch (error) {
      emitEvent({ event: 'error', id: null, message: `bad command: ${error.message}` });
      return;
    }
    try {
      await runCommand(command);
    } catch (error) {
      emitEvent({ event: 'error', id: command.id === undefined ? null : command.id,
                  message: error.message });
    }
  });
}

function disconnectAll() {
  for (const socket of jstp.theTCPSockets.slice())
    socket.end();
  for (const ws of jstp.theWebsockets.slice())
    ws.close();
  for (const connection of outbound)
    connection.end ? connection.end() : connection.close();
}

function shutdown(status) {
  if (shuttingDown)
    return;
  shuttingDown = true;

  if (tcpServer)
    tcpServer.close();
  if (httpServer)
    httpServer.close();
  disconnectAll();

  // Let the FINs and close frames go out, then stop: the reference engine
  // keeps 10-second answer timers that would hold the process open.
  setTimeout(() => process.exit(status), 100);
}

// The reference's tcpServer() ignores port 0 (it reads it as "use 33333"),
// listens on every address and never hands the server out: lend it a
// createServer() that keeps the server and listens where the peer says.
function startTcp(address, port) {
  return new Promise((resolve, reject) => {
    const originalCreateServer = net.createServer;

    net.createServer = function (...args) {
      const server = originalCreateServer.apply(this, args);
      const originalListen = server.listen;

      server.listen = function (_port, callback) {
        return originalListen.call(this, { host: address, port }, callback);
      };
      tcpServer = server;
      return server;
    };

    try {
      jstp.listen({ tcp: port || 1 });
    } finally {
      net.createServer = originalCreateServer;
    }

    tcpServer.on('connection', (socket) => {
      const remote = remoteOf(socket);
      // The reference adds no 'error' listener: one reset would kill the
      // process (README.md). Report it; 'close' follows.
      socket.on('error', (error) => {
        emitEvent({ event: 'error', id: null,
                    message: `inbound tcp ${remote}: ${error.message}` });
      });
      socket.on('close', () => {
        emitEvent({ event: 'disconnected', direction: 'in', transport: 'tcp', remote });
      });
      emitEvent({ event: 'connected', direction: 'in', transport: 'tcp', remote });
    });
    tcpServer.once('error', reject);
    tcpServer.once('listening', () => resolve(tcpServer.address().port));
  });
}

function startWs(address, port) {
  return new Promise((resolve, reject) => {
    httpServer = http.createServer((request, response) => {
      response.writeHead(426, { 'Content-Type': 'text/plain', Upgrade: 'websocket' });
      response.end('JSTP over WebSocket only\n');
    });

    jstp.listen({ ws: httpServer });

    // Runs after the reference's own 'upgrade' listener, which has just
    // pushed the new socket.
    httpServer.on('upgrade', (request) => {
      const ws = jstp.theWebsockets[jstp.theWebsockets.length - 1];
      const remote = remoteOf(request.socket);

      if (ws === undefined)
        return;
      ws.on('error', (event) => {
        emitEvent({ event: 'error', id: null,
                    message: `inbound ws ${remote}: ${event.message || 'error'}` });
      });
      ws.on('close', () => {
        emitEvent({ event: 'disconnected', direction: 'in', transport: 'ws', remote });
      });
      emitEvent({ event: 'connected', direction: 'in', transport: 'ws', remote });
    });

    httpServer.once('error', reject);
    httpServer.listen({ host: address, port }, () => resolve(httpServer.address().port));
  });
}

function bindRecorder() {
  const callback = makeCallback(null);

  for (let length = 1; length <= RECORDER_MAX_LENGTH; length++) {
    const resource = ['interop'].concat(new Array(length - 1).fill('*'));
    jstp.bind({ endpoint: { method: '*', resource } }, callback, recorderContext);
  }
}

async function main() {
  const options = parseArgs(process.argv);

  process.on('SIGTERM', () => shutdown(0));
  process.on('SIGINT', () => shutdown(0));
  process.on('uncaughtException', (error) => {
    emitEvent({ event: 'error', id: null, message: `fatal: ${error.stack || error}` });
    process.exit(70);
  });

  if (mode === 'serve') {
    bindRecorder();
    const tcp = await startTcp(options.listen, options.tcp);
    const ws = await startWs(options.listen, options.ws);
    emitEvent({ event: 'listening', tcp, ws });
  } else {
    target = { host: options.host, port: options.port, transport: options.transport };
    emitEvent({ event: 'ready', target });
  }

  for (const cmd of options.cmds)
    enqueue(cmd);

  const input = readline.createInterface({ input: process.stdin, crlfDelay: Infinity });
  input.on('line', enqueue);
  input.on('close', () => queue.then(() => shutdown(0)));
}

main().catch((error) => {
  emitEvent({ event: 'error', id: null, message: `fatal: ${error.message}` });
  process.exit(1);
});
