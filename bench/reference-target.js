#!/usr/bin/env node
// SPDX-License-Identifier: MIT
//
// reference-target.js: the reference JSTP engine (npm `jstp` 1.1.5, from
// tests/interop/node_modules) as a target of bench-load, doing what
// bench-target does for our engine: it answers GET ["bench","echo"] with the
// request's body, and relays the publisher's POSTs to the connections that
// bound them (the reference engine does that by itself).
//
// USAGE
//   node bench/reference-target.js
//
// Listens on 127.0.0.1, TCP and WebSocket, free ports, and prints one line:
//   {"tcp":PORT,"ws":PORT,"pid":PID}
// then runs until SIGINT or SIGTERM. JSTP_REFERENCE_MODULES names another
// node_modules folder holding `jstp`.
//
// Departures from the bare reference engine, as in tests/interop/peer.js:
// its per-dispatch log is dropped (it still builds each log line: that cost
// is the engine's own), its servers listen on 127.0.0.1 and port 0 works,
// and sockets get error handlers (one reset would end the process).

'use strict';

const http = require('http');
const net = require('net');
const path = require('path');

// The engine logs every dispatch with console.log; a bench measures the
// engine, not a terminal.
for (const name of ['log', 'info', 'warn', 'error', 'debug'])
  console[name] = () => {};

const modules = process.env.JSTP_REFERENCE_MODULES ||
  path.join(__dirname, '..', 'tests', 'interop', 'node_modules');
const jstp = require(path.join(modules, 'jstp'));

const ADDRESS = '127.0.0.1';
const context = { name: 'bench-reference-target' };

function report(message) {
  process.stderr.write(`reference-target: ${message}\n`);
}

// The reference's tcpServer() reads port 0 as 33333, listens on every
// address and keeps the server to itself: lend it a createServer() that
// listens where we say and hands the server back.
function startTcp() {
  return new Promise((resolve, reject) => {
    const originalCreateServer = net.createServer;
    let server = null;

    net.createServer = function (...args) {
      server = originalCreateServer.apply(this, args);
      const originalListen = server.listen;
      server.listen = function (_port, callback) {
        return originalListen.call(this, { host: ADDRESS, port: 0 }, callback);
      };
      return server;
    };
    try {
      jstp.listen({ tcp: 1 });
    } finally {
      net.createServer = originalCreateServer;
    }

    server.on('connection', (socket) => {
      socket.on('error', () => {});
    });
    server.once('error', reject);
    server.once('listening', () => resolve(server.address().port));
  });
}

function startWs() {
  return new Promise((resolve, reject) => {
    const server = http.createServer((request, response) => {
      response.writeHead(426, { 'Content-Type': 'text/plain', Upgrade: 'websocket' });
      response.end('JSTP over WebSocket only\n');
    });

    jstp.listen({ ws: server });
    // Runs after the reference's own 'upgrade' listener, which has just
    // added the new socket.
    server.on('upgrade', (request) => {
      const ws = jstp.theWebsockets[jstp.theWebsockets.length - 1];
      request.socket.on('error', () => {});
      if (ws !== undefined)
        ws.on('error', () => {});
    });
    server.once('error', reject);
    server.listen({ host: ADDRESS, port: 0 }, () => resolve(server.address().port));
  });
}

function isEcho(dispatch) {
  return Array.isArray(dispatch.resource) && dispatch.resource.length === 2 &&
    dispatch.resource[0] === 'bench' && dispatch.resource[1] === 'echo';
}

async function main() {
  process.on('SIGTERM', () => process.exit(0));
  process.on('SIGINT', () => process.exit(0));
  process.stdout.on('error', () => {});

  jstp.bind({ endpoint: { method: 'GET', resource: ['bench', 'echo'] } },
    (engine, answer, dispatch) => {
      if (!answer && dispatch && isEcho(dispatch) &&
          Array.isArray(dispatch.token) && dispatch.token[0])
        engine.answer(dispatch, 200, dispatch.body);
    }, context);

  const tcp = await startTcp();
  const ws = await startWs();
  process.stdout.write(JSON.stringify({ tcp, ws, pid: process.pid }) + '\n');
}

main().catch((error) => {
  report(error.stack || String(error));
  process.exit(1);
});
