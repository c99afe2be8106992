/* SPDX-License-Identifier: MIT */
/* jstp.js: a JSTP/0.5 client over WebSocket, for browsers and Node.js.
 *
 * Every JSTP engine serves this file at /jstp.js on its WebSocket port. It
 * has no dependencies; in Node.js without a global WebSocket it loads the
 * `ws` package.
 *
 *   const client = JSTP.connect('ws://127.0.0.1:33334/');
 *   const info = await client.request('GET', ['jstp', 'info']);
 *   // info.status === 200, info.body.name === the engine's name
 *
 *   const chat = client.bind('POST', ['chat', ':room'], (msg) => {
 *     show(msg.captures.room, msg.body);   // returned values answer 200
 *   });
 *   await chat.ready;                      // the engine acknowledged the BIND
 *   chat.release();
 *
 *   client.emit('PUT', ['lamp'], {on: true}, (answer) => { ... });  // every answer
 *   client.emit('POST', ['log'], 'no answer wanted');                // no transaction
 *   client.on('open', ({reconnected}) => ...);  // also 'close', 'bound', 'dispatch', 'error'
 *   client.close();
 *
 * Answers are {status, body, ok, local, dispatch}; `local` marks those the
 * client made up itself: 502 when the connection closed before the answer
 * came, 504 when none came in time. The client reconnects by itself with
 * exponential backoff and sends its BINDs again. It writes strict JSTP/0.5:
 * upper-case methods, a timestamp on every dispatch, transaction ids that
 * are UUIDs from crypto.getRandomValues().
 */
(function (root, factory) {
  if (typeof module === 'object' && module.exports)
    module.exports = factory();
  else
    root.JSTP = factory();
}(typeof self !== 'undefined' ? self : this, function () {
  'use strict';

  const PROTOCOL = ['JSTP', '0.5'];
  const METHODS = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE'];
  const DEFAULTS = {
    timeout: 15000,         // ms to wait for answers
    reconnectMin: 250,      // ms before the first reconnection attempt
    reconnectMax: 15000,    // ms between attempts, at most
    queueLimit: 1000,       // dispatches kept while disconnected
  };

  function cryptoSource () {
    if (globalThis.crypto && globalThis.crypto.getRandomValues)
      return globalThis.crypto;
    return require('crypto').webcrypto;
  }

  /* A UUID v4 (RFC 9562) from the platform's cryptographic generator. */
  function newId () {
    const b = cryptoSource().getRandomValues(new Uint8Array(16));
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    const h = Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');
    return h.slice(0, 8) + '-' + h.slice(8, 12) + '-' + h.slice(12, 16) + '-' +
           h.slice(16, 20) + '-' + h.slice(20);
  }

  /* Endpoint patterns as the engine matches them (spec section 4): `*` one
   * element, `...` any number (fewest first), `:name` one element captured,
   * a leading backslash escapes. Returns the captures, or null. */
  function match (pattern, resource) {
    const captures = {};
    const step = (i, j) => {
      for (; i < pattern.length; i++, j++) {
        const element = pattern[i];
        if (element === '...') {
          for (let k = j; k <= resource.length; k++)
            if (step(i + 1, k))
              return true;
          return false;
        }
        if (j >= resource.length)
          return false;
        const value = resource[j];
        if (element === '*')
          continue;
        if (/^:[A-Za-z]+$/.test(element)) {
          captures[element.slice(1)] = value;
          continue;
        }
        const literal = element[0] === '\\' ? element.slice(1) : element;
        if (!((typeof value === 'string' || typeof value === 'number') &&
              String(value) === literal))
          return false;
      }
      return j === resource.length;
    };
    return step(0, 0) ? captures : null;
  }

  function checkResource (resource) {
    if (!Array.isArray(resource) || resource.length === 0)
      throw new TypeError('a resource is a non-empty array');
  }

  class Binding {
    constructor (client, method, resource, callback, options) {
      this.client = client;
      this.method = method;
      this.resource = resource.map(String);
      this.callback = callback;
      this.autoAnswer = options.answer !== false;
      this.active = true;
      this.status = 0;        // the last acknowledgement's status
      this.ready = new Promise((resolve, reject) => {
        this._resolve = resolve;
        this._reject = reject;
      });
      this.ready.catch(() => {});
    }

    get endpoint () {
      return { method: this.method, resource: this.resource };
    }

    /* Ends the subscription; resolves with the RELEASE's answer, or at
     * once when the client is not connected. */
    release () {
      return this.client.release(this);
    }
  }

  class Client {
    constructor (url, options) {
      this.url = url;
      this.options = Object.assign({}, DEFAULTS, options);
      this.state = 'connecting';
      this.reconnects = 0;
      this._WebSocket = this.options.WebSocket || globalThis.WebSocket ||
                        (typeof require === 'function' ? require('ws') : null);
      if (!this._WebSocket)
        throw new Error('no WebSocket: pass {WebSocket} or install the ws package');
      this._listeners = {};
      this._transactions = new Map();   // id -> {onAnswer, sent, timer}
      this._bindings = new Set();
      this._queue = [];                 // texts waiting for the connection
      this._attempt = 0;
      this._timer = null;
      this._socket = null;
      this._open();
    }

    on (name, listener) {
      (this._listeners[name] = this._listeners[name] || []).push(listener);
      return this;
    }

    off (name, listener) {
      const list = this._listeners[name] || [];
      const index = list.indexOf(listener);
      if (index >= 0)
        list.splice(index, 1);
      return this;
    }

    _fire (name, value) {
      for (const listener of (this._listeners[name] || []).slice()) {
        try {
          listener(value);
        } catch (error) {
          if (name !== 'error')
            this._fire('error', error);
        }
      }
    }

    /* ---- connection ---------------------------------------------------- */

    _open () {
      let socket;
      try {
        socket = new this._WebSocket(this.url);
      } catch (error) {
        this._fire('error', error);
        this._retry();
        return;
      }
      this._socket = socket;
      socket.onopen = () => {
        const reconnected = this.reconnects > 0 || this._attempt > 0;
        this.state = 'open';
        this._attempt = 0;
        for (const binding of this._bindings)
          this._sendBind(binding);
        for (const entry of this._queue.splice(0)) {
          this._write(entry.text);
          if (entry.transaction)
            entry.transaction.sent = true;
        }
        this._fire('open', { reconnected });
      };
      socket.onmessage = (event) => this._receive(typeof event.data === 'string'
                                                  ? event.data : String(event.data));
      socket.onerror = (event) => this._fire('error', event.error || new Error('WebSocket error'));
      socket.onclose = (event) => {
        if (this._socket !== socket)
          return;
        this._socket = null;
        this._lost();
        const retry = this.state !== 'closed';
        this._fire('close', { code: event.code, reason: event.reason, reconnecting: retry });
        if (retry)
          this._retry();
      };
    }

    /* Transactions sent over a link that is gone get no answer from the
     * engine: answer them here, as an engine answers 502. */
    _lost () {
      for (const [id, transaction] of this._transactions)
        if (transaction.sent) {
          this._finish(id);
          transaction.onAnswer(this._localAnswer(502, 'the connection closed'));
        }
      for (const binding of this._bindings)
        binding.status = 0;
    }

    _retry () {
      if (this.state === 'closed')
        return;
      this.state = 'reconnecting';
      const o = this.options;
      const ceiling = Math.min(o.reconnectMax, o.reconnectMin * Math.pow(2, this._attempt++));
      /* Jitter, so that many clients of a restarted engine spread out. */
      const delay = Math.round(ceiling * (0.5 + Math.random() / 2));
      clearTimeout(this._timer);
      this._timer = setTimeout(() => {
        this._timer = null;
        this.reconnects++;
        this._open();
      }, delay);
    }

    /* Stops for good: no reconnection, pending answers become 502. */
    close () {
      this.state = 'closed';
      clearTimeout(this._timer);
      const socket = this._socket;
      this._socket = null;
      this._lost();
      for (const [id, transaction] of this._transactions) {
        this._finish(id);
        transaction.onAnswer(this._localAnswer(502, 'the client closed'));
      }
      this._queue.length = 0;
      if (socket)
        socket.close(1000);
      this._fire('close', { code: 1000, reason: 'closed', reconnecting: false });
    }

    _write (text) {
      this._socket.send(text);
      this._fire('sent', text);
    }

    /* Sends now, or queues until the connection is up when @queue; a
     * queued transaction counts as sent once it went out. */
    _send (dispatch, queue, transaction) {
      const text = JSON.stringify(dispatch);
      if (this.state === 'open') {
        this._write(text);
        if (transaction)
          transaction.sent = true;
      } else if (queue && this.state !== 'closed' &&
                 this._queue.length < this.options.queueLimit) {
        this._queue.push({ text, transaction });
      } else {
        throw new Error('not connected');
      }
    }

    /* ---- emitting ------------------------------------------------------ */

    _dispatch (method, resource, body, options) {
      method = String(method).toUpperCase();
      if (!METHODS.includes(method))
        throw new TypeError('unknown method ' + method);
      checkResource(resource);
      const dispatch = { protocol: PROTOCOL, method, resource, timestamp: Date.now() };
      if (options && options.host)
        dispatch.host = options.host;
      if (options && options.headers)
        for (const name of Object.keys(options.headers))
          dispatch[name.toLowerCase()] = options.headers[name];
      if (body !== undefined)
        dispatch.body = body;
      return dispatch;
    }

    _localAnswer (status, message) {
      return { status, body: { message }, ok: false, local: true, dispatch: null };
    }

    _finish (id) {
      const transaction = this._transactions.get(id);
      if (transaction) {
        clearTimeout(transaction.timer);
        this._transactions.delete(id);
      }
    }

    /* Sends a dispatch with a transaction: onAnswer gets every answer
     * until the timeout, when a transaction that got none gets a local 504.
     * Returns the transaction id. */
    _transact (dispatch, onAnswer, options) {
      const id = newId();
      const timeout = (options && options.timeout) || this.options.timeout;
      const transaction = { onAnswer, sent: false, answered: false };
      dispatch.token = [id];
      transaction.timer = setTimeout(() => {
        this._finish(id);
        if (!transaction.answered)
          onAnswer(this._localAnswer(504, 'no answer in time'));
      }, timeout);
      this._transactions.set(id, transaction);
      try {
        this._send(dispatch, true, transaction);
      } catch (error) {
        this._finish(id);
        throw error;
      }
      return id;
    }

    /* A regular dispatch. With onAnswer, every answer is handed to it;
     * without, the dispatch carries no transaction and nobody answers. */
    emit (method, resource, body, onAnswer, options) {
      const dispatch = this._dispatch(method, resource, body, options);
      if (typeof onAnswer !== 'function') {
        this._send(dispatch, true);
        return null;
      }
      return this._transact(dispatch, onAnswer, options);
    }

    /* Resolves with the first answer, whatever its status. */
    request (method, resource, body, options) {
      return new Promise((resolve, reject) => {
        try {
          const id = this.emit(method, resource, body, (answer) => {
            this._finish(id);
            resolve(answer);
          }, options);
        } catch (error) {
          reject(error);
        }
      });
    }

    /* Answers a dispatch a binding received (when it carries a
     * transaction); bindings answer by themselves unless told not to. */
    answer (dispatch, status, body) {
      const token = Array.isArray(dispatch.token) ? dispatch.token : [];
      if (typeof token[0] !== 'string' || this.state !== 'open')
        return;
      const answer = {
        protocol: PROTOCOL,
        method: 'ANSWER',
        resource: [status, token[0], typeof token[1] === 'string' ? token[1] : null],
        timestamp: Date.now(),
      };
      if (body !== undefined)
        answer.body = body;
      this._send(answer, false);
    }

    /* ---- subscriptions ------------------------------------------------- */

    /* Subscribes callback(message) to an endpoint, on this engine. A
     * message is {method, resource, body, captures, dispatch, answer()}.
     * When the dispatch carries a transaction, what the callback returns
     * (or its promise resolves to) answers it 200, a throw answers 500;
     * {answer: false} leaves answering to the callback. */
    bind (method, resource, callback, options) {
      method = String(method).toUpperCase();
      checkResource(resource);
      const binding = new Binding(this, method, resource, callback, options || {});
      this._bindings.add(binding);
      if (this.state === 'open')
        this._sendBind(binding);
      return binding;
    }

    _sendBind (binding) {
      const dispatch = { protocol: PROTOCOL, method: 'BIND', endpoint: binding.endpoint,
                         timestamp: Date.now() };
      this._transact(dispatch, (answer) => {
        if (!binding.active || answer.local)
          return;
        binding.status = answer.status;
        if (answer.status === 200) {
          binding._resolve(answer.status);
          this._fire('bound', binding);
        } else {
          const error = new Error('BIND answered ' + answer.status);
          error.answer = answer;
          binding._reject(error);
          this._fire('error', error);
        }
      });
    }

    release (binding) {
      if (!this._bindings.delete(binding))
        return Promise.resolve(null);
      binding.active = false;
      /* The engine keeps one subscription per endpoint and connection:
       * another binding of the same endpoint still needs it. */
      const key = JSON.stringify(binding.endpoint);
      for (const other of this._bindings)
        if (JSON.stringify(other.endpoint) === key)
          return Promise.resolve(null);
      if (this.state !== 'open')
        return Promise.resolve(null);
      return new Promise((resolve) => {
        const dispatch = { protocol: PROTOCOL, method: 'RELEASE', endpoint: binding.endpoint,
                           timestamp: Date.now() };
        const id = this._transact(dispatch, (answer) => {
          this._finish(id);
          resolve(answer);
        });
      });
    }

    /* ---- receiving ----------------------------------------------------- */

    _receive (text) {
      let dispatch;
      try {
        dispatch = JSON.parse(text);
      } catch (error) {
        this._fire('error', new Error('the engine sent something that is not JSON'));
        return;
      }
      if (!dispatch || typeof dispatch !== 'object' || Array.isArray(dispatch))
        return;
      const method = String(dispatch.method || '').toUpperCase();
      if (method === 'ANSWER') {
        this._receiveAnswer(dispatch);
        return;
      }
      this._fire('dispatch', dispatch);

      /* BIND and RELEASE are matched by their endpoint's resource. */
      const subscription = method === 'BIND' || method === 'RELEASE';
      const resource = subscription ? (dispatch.endpoint || {}).resource : dispatch.resource;
      const token = Array.isArray(dispatch.token) ? dispatch.token : [];
      let pending = !subscription && typeof token[0] === 'string';
      if (!Array.isArray(resource))
        return;

      let matched = false;
      for (const binding of this._bindings) {
        if (binding.method !== '*' && binding.method !== method)
          continue;
        const captures = match(binding.resource, resource);
        if (!captures)
          continue;
        matched = true;
        const message = {
          method, resource, captures,
          body: dispatch.body,
          dispatch,
          answer: (status, body) => {
            if (pending) {
              pending = false;
              this.answer(dispatch, status, body);
            }
          },
        };
        const auto = binding.autoAnswer;
        Promise.resolve()
          .then(() => binding.callback(message))
          .then((value) => {
            if (auto)
              message.answer(200, value);
          }, (error) => {
            this._fire('error', error);
            if (auto)
              message.answer(500, { message: String(error && error.message || error) });
          });
      }
      if (!matched && pending)
        this.answer(dispatch, 404);
    }

    _receiveAnswer (dispatch) {
      const resource = dispatch.resource;
      if (!Array.isArray(resource) || resource.length < 2)
        return;
      const transaction = this._transactions.get(resource[1]);
      if (!transaction)
        return;
      transaction.answered = true;
      const status = resource[0];
      transaction.onAnswer({
        status,
        body: dispatch.body,
        ok: status >= 200 && status < 300,
        local: false,
        dispatch,
      });
    }
  }

  function connect (url, options) {
    return new Client(url, options);
  }

  return { connect, Client, Binding, match, newId, PROTOCOL };
}));
