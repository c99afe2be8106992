#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""jstpd and jstp, run as a user would, over loopback TCP and WebSocket.

Meson passes the built executables in the JSTPD and JSTP environment
variables. Every wait has a timeout, so a broken build fails instead of
hanging; no test takes more than a few seconds.
"""

import json
import os
import re
import select
import signal
import socket
import subprocess
import tempfile
import time
import unittest

JSTPD = os.environ.get("JSTPD", "jstpd")
JSTP = os.environ.get("JSTP", "jstp")
TIMEOUT = 10  # seconds for any one program or wait

LISTENING = re.compile(
    r"^jstpd listening:(?: tcp 127\.0\.0\.1:(?P<tcp>\d+))?(?: ws 127\.0\.0\.1:(?P<ws>\d+))?$")


def program_env():
    env = dict(os.environ)
    # Messages are checked in English.
    env["LC_ALL"] = "C.UTF-8"
    env.pop("LANGUAGE", None)
    return env


def run(*args, stdin=None, timeout=TIMEOUT):
    return subprocess.run(list(args), input=stdin, capture_output=True, text=True,
                          timeout=timeout, env=program_env())


def free_port():
    """A port nothing listens on (bound, then released)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def read_line(stream, timeout=TIMEOUT):
    """One line from a pipe, or AssertionError when none comes in time."""
    deadline = time.monotonic() + timeout
    line = b""
    fd = stream.fileno()
    while not line.endswith(b"\n"):
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise AssertionError(f"no complete line within {timeout} s (got {line!r})")
        ready, _, _ = select.select([fd], [], [], remaining)
        if not ready:
            continue
        chunk = os.read(fd, 1)
        if not chunk:
            raise AssertionError(f"the stream ended (got {line!r})")
        line += chunk
    return line.decode("utf-8").rstrip("\n")


class Daemon:
    """A jstpd on free loopback ports, stopped with SIGTERM."""

    def __init__(self, *extra, name="test-engine"):
        self.process = subprocess.Popen(
            [JSTPD, "--name", name, "--tcp-port", "0", "--ws-port", "0", *extra],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=program_env())
        self.line = read_line(self.process.stdout)
        match = LISTENING.match(self.line)
        if not match:
            self.stop()
            raise AssertionError(f"unexpected first line: {self.line!r}")
        self.tcp_port = int(match["tcp"]) if match["tcp"] else None
        self.ws_port = int(match["ws"]) if match["ws"] else None

    def host(self, label):
        port = self.tcp_port if label == "tcp" else self.ws_port
        return f"{label}://127.0.0.1:{port}"

    def stop(self):
        """SIGTERM, then the exit status; what it printed after the first
        line is kept in rest_stdout and stderr."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        try:
            out, err = self.process.communicate(timeout=TIMEOUT)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.communicate()
            raise
        self.rest_stdout = out.decode()
        self.stderr = err.decode()
        return self.process.returncode


class Binder:
    """A `jstp bind` in the background, ready once the BIND is acknowledged."""

    def __init__(self, host, method, pattern, *options):
        self.process = subprocess.Popen(
            [JSTP, "bind", *options, host, method, pattern],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=program_env())
        ack = read_line(self.process.stderr)
        if ack != "200 OK":
            self.process.kill()
            raise AssertionError(f"bind was not acknowledged: {ack!r}")

    def dispatch(self):
        return json.loads(read_line(self.process.stdout))

    def finish(self, interrupt=False):
        if interrupt:
            self.process.send_signal(signal.SIGINT)
        try:
            out, err = self.process.communicate(timeout=TIMEOUT)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.communicate()
            raise
        return self.process.returncode, out.decode(), err.decode()


class DaemonTestCase(unittest.TestCase):
    def setUp(self):
        self.daemon = Daemon()

    def tearDown(self):
        self.assertEqual(self.daemon.stop(), 0)


class TestDaemon(unittest.TestCase):
    def test_listening_line(self):
        daemon = Daemon()
        self.assertNotEqual(daemon.tcp_port, 0)
        self.assertNotEqual(daemon.ws_port, 0)
        self.assertEqual(daemon.stop(), 0)
        # Exactly one line on stdout, nothing after it.
        self.assertEqual(daemon.rest_stdout, "")

    def test_one_transport(self):
        daemon = Daemon("--no-ws")
        self.assertIsNotNone(daemon.tcp_port)
        self.assertIsNone(daemon.ws_port)
        self.assertEqual(daemon.stop(), 0)

        daemon = Daemon("--tcp-port", "-1")
        self.assertIsNone(daemon.tcp_port)
        self.assertIsNotNone(daemon.ws_port)
        self.assertEqual(daemon.stop(), 0)

    def test_sigterm_and_sigint_exit_cleanly(self):
        for sig in (signal.SIGTERM, signal.SIGINT):
            with self.subTest(signal=sig.name):
                daemon = Daemon()
                binder = Binder(daemon.host("tcp"), "POST", '["x"]')
                daemon.process.send_signal(sig)
                self.assertEqual(daemon.process.wait(timeout=TIMEOUT), 0)
                self.assertEqual(daemon.stop(), 0)
                # Its clients see the connection close.
                code, _, err = binder.finish()
                self.assertEqual(code, 3)
                self.assertIn("lost the connection", err)

    def test_port_in_use(self):
        daemon = Daemon()
        try:
            result = run(JSTPD, "--tcp-port", str(daemon.tcp_port), "--ws-port", "0")
            self.assertEqual(result.returncode, 1)
            self.assertIn("cannot listen on tcp", result.stderr)
            self.assertIn("Address already in use", result.stderr)
            self.assertEqual(result.stdout, "")
        finally:
            self.assertEqual(daemon.stop(), 0)

    def test_bad_flags(self):
        cases = [
            (["--tcp-port", "abc"], "--tcp-port"),
            (["--tcp-port", "70000"], "between -1 and 65535"),
            (["--no-tcp", "--no-ws"], "nothing to listen on"),
            (["--gateway"], "--allow"),
            (["--allow", "10.0.0.1:80"], "--gateway"),
            (["--gateway", "--allow", "nonsense"], "ADDRESS:PORT"),
            (["--bridge", "tcp://127.0.0.1:1 GET"], "HOST METHOD RESOURCE-PATTERN-JSON"),
            (["--bridge", "tcp://127.0.0.1:1 GET [1]"], "array of strings"),
            (["--bridge", "tcp://127.0.0.1:1 GET [\"a\""], "not valid JSON"),
            (["--quiet", "--verbose"], "exclude each other"),
            (["surplus"], "unexpected argument"),
        ]
        for args, message in cases:
            with self.subTest(args=args):
                result = run(JSTPD, *args)
                self.assertEqual(result.returncode, 2, result.stderr)
                self.assertIn(message, result.stderr)
                self.assertTrue(result.stderr.startswith("jstpd: "), result.stderr)

    def test_config_file(self):
        with tempfile.TemporaryDirectory() as directory:
            path = os.path.join(directory, "jstpd.conf")
            with open(path, "w") as f:
                f.write("[jstpd]\nname=from-file\ntcp-port=0\nws-port=-1\nanswer-timeout=500\n")
            # --name on the command line wins over the file.
            process = subprocess.Popen([JSTPD, "--config", path, "--name", "from-flag"],
                                       stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                       env=program_env())
            try:
                match = LISTENING.match(read_line(process.stdout))
                self.assertIsNotNone(match)
                self.assertIsNone(match["ws"])
                info = run(JSTP, "info", "--json", f"tcp://127.0.0.1:{match['tcp']}")
                self.assertEqual(info.returncode, 0, info.stderr)
                self.assertEqual(json.loads(info.stdout)["name"], "from-flag")
            finally:
                process.terminate()
                self.assertEqual(process.wait(timeout=TIMEOUT), 0)
                process.stdout.close()
                process.stderr.close()

            for content, message in [
                ("[jstpd]\ntcp-port=abc\n", "tcp-port"),
                ("[jstpd]\ntcpport=1\n", "unknown key"),
                ("[other]\n", "unknown group"),
                ("[bridge b]\nhost=tcp://127.0.0.1:1\nmethod=GET\n", "resource"),
                ("not a key file", "bad config file"),
            ]:
                with self.subTest(content=content):
                    with open(path, "w") as f:
                        f.write(content)
                    result = run(JSTPD, "--config", path, "--tcp-port", "0", "--ws-port", "0")
                    self.assertEqual(result.returncode, 1, result.stderr)
                    self.assertIn("bad config file", result.stderr)
                    self.assertIn(message, result.stderr)
            result = run(JSTPD, "--config", os.path.join(directory, "missing.conf"))
            self.assertEqual(result.returncode, 1)

    def test_help(self):
        result = run(JSTPD, "--help")
        self.assertEqual(result.returncode, 0)
        for word in ("--listen", "--tcp-port", "--ws-port", "--gateway", "--allow", "--bridge",
                     "--config", "--max-frame", "--queue-limit", "Examples:", "[jstpd]"):
            self.assertIn(word, result.stdout)


class TestInfo(DaemonTestCase):
    def test_info(self):
        for label in ("tcp", "ws"):
            with self.subTest(transport=label):
                result = run(JSTP, "info", self.daemon.host(label))
                self.assertEqual(result.returncode, 0, result.stderr)
                self.assertRegex(result.stdout, r"(?m)^Name: +test-engine$")
                self.assertRegex(result.stdout,
                                 r"(?m)^Host: +" + re.escape(self.daemon.host(label)))
                self.assertIn('["jstp","info"]', result.stdout)

                result = run(JSTP, "info", "--json", self.daemon.host(label))
                self.assertEqual(result.returncode, 0, result.stderr)
                self.assertEqual(json.loads(result.stdout)["name"], "test-engine")

    def test_status(self):
        # jstpd reports its host's saturation: one row per host, "up".
        for label in ("tcp", "ws"):
            with self.subTest(transport=label):
                result = run(JSTP, "status", "--once", self.daemon.host(label))
                self.assertEqual(result.returncode, 0, result.stderr)
                self.assertRegex(result.stdout, r"test-engine +up ")
                result = run(JSTP, "send", "GET", self.daemon.host(label), '["jstp","status"]')
                self.assertEqual(result.returncode, 0, result.stderr)
                status = json.loads(result.stdout)
                self.assertTrue(0 <= status["saturation"] <= 1)
                self.assertIn(status["level"], ("ok", "busy", "critical"))


class TestSend(DaemonTestCase):
    def test_not_found(self):
        for label in ("tcp", "ws"):
            with self.subTest(transport=label):
                result = run(JSTP, "send", "GET", self.daemon.host(label), '["nothing","here"]')
                self.assertEqual(result.returncode, 1)
                self.assertEqual(result.stderr.strip(), "404 Not Found")
                self.assertIn("message", json.loads(result.stdout))

    def test_output_is_compact_in_a_pipe_and_pretty_on_request(self):
        host = self.daemon.host("tcp")
        compact = run(JSTP, "send", "GET", host, '["jstp","info"]')
        self.assertEqual(compact.returncode, 0, compact.stderr)
        self.assertEqual(compact.stdout.count("\n"), 1)
        pretty = run(JSTP, "send", "--pretty", "GET", host, '["jstp","info"]')
        self.assertGreater(pretty.stdout.count("\n"), 3)
        self.assertEqual(json.loads(pretty.stdout), json.loads(compact.stdout))

    def test_bind_receives_post(self):
        for bind_label, send_label in (("tcp", "tcp"), ("ws", "ws"), ("ws", "tcp")):
            with self.subTest(bind=bind_label, send=send_label):
                binder = Binder(self.daemon.host(bind_label), "POST", '["chat","..."]',
                                "--count", "1", "--answer", "201")
                result = run(JSTP, "send", "POST", self.daemon.host(send_label),
                             '["chat","room",7]', '{"text":"hola","n":1.50}')
                self.assertEqual(result.returncode, 0, result.stderr)
                self.assertEqual(result.stderr.strip(), "201")

                code, out, err = binder.finish()
                self.assertEqual(code, 0, err)
                dispatch = json.loads(out.splitlines()[0])
                self.assertEqual(dispatch["method"], "POST")
                self.assertEqual(dispatch["resource"], ["chat", "room", 7])
                self.assertEqual(dispatch["body"], {"text": "hola", "n": 1.5})
                # Numbers travel as written.
                self.assertIn('"n":1.50', out)

    def test_no_answer_and_stdin_body(self):
        host = self.daemon.host("tcp")
        binder = Binder(host, "*", '["events",":kind"]', "--count", "2")
        result = run(JSTP, "send", "--no-answer", "PUT", host, '["events","a"]', '[1,2]')
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertEqual(result.stdout, "")
        result = run(JSTP, "send", "--no-answer", "--header", 'trace="t-1"', "PATCH", host,
                     '["events","b"]', "-", stdin='{"from":"stdin"}')
        self.assertEqual(result.returncode, 0, result.stderr)

        code, out, err = binder.finish()
        self.assertEqual(code, 0, err)
        first, second = [json.loads(line) for line in out.splitlines()]
        self.assertEqual((first["method"], first["body"]), ("PUT", [1, 2]))
        self.assertNotIn("token", first)
        self.assertEqual((second["method"], second["body"]), ("PATCH", {"from": "stdin"}))
        self.assertEqual(second["trace"], "t-1")

    def test_wait_collects_several_answers(self):
        host = self.daemon.host("tcp")
        binders = [Binder(host, "GET", '["sensor","*"]', "--count", "1", "--answer", status)
                   for status in ("200", "202")]
        result = run(JSTP, "send", "--wait", "1500", "GET", host, '["sensor","t"]')
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertEqual(sorted(result.stderr.split("\n")[:2]), ["200 OK", "202"])
        for binder in binders:
            self.assertEqual(binder.finish()[0], 0)

    def test_timeout(self):
        host = self.daemon.host("tcp")
        binder = Binder(host, "GET", '["slow"]')
        started = time.monotonic()
        result = run(JSTP, "send", "--timeout", "300", "GET", host, '["slow"]')
        self.assertLess(time.monotonic() - started, 5)
        self.assertEqual(result.returncode, 3)
        self.assertIn("no answer from tcp://127.0.0.1", result.stderr)
        self.assertEqual(binder.finish(interrupt=True)[0], 0)

    def test_bind_interrupt_releases(self):
        host = self.daemon.host("ws")
        binder = Binder(host, "POST", '["room"]')
        code, out, err = binder.finish(interrupt=True)
        self.assertEqual(code, 0, err)
        self.assertEqual(out, "")
        # Released: nothing is bound any more.
        result = run(JSTP, "send", "POST", host, '["room"]')
        self.assertEqual(result.returncode, 1)
        self.assertIn("404", result.stderr)

    def test_gateway(self):
        host = self.daemon.host("tcp")
        # A closed gateway refuses to forward (506).
        result = run(JSTP, "send", "--via", host, "GET",
                     f"tcp://127.0.0.1:{self.daemon.ws_port}", '["jstp","info"]')
        self.assertEqual(result.returncode, 1)
        self.assertIn("506", result.stderr)

        target = Daemon(name="behind-the-gateway")
        gateway = Daemon("--gateway", "--allow", f"127.0.0.1:{target.tcp_port}", name="gateway")
        try:
            result = run(JSTP, "send", "--via", gateway.host("ws"), "GET", target.host("tcp"),
                         '["jstp","info"]')
            self.assertEqual(result.returncode, 0, result.stderr)
            self.assertEqual(json.loads(result.stdout)["name"], "behind-the-gateway")
        finally:
            self.assertEqual(gateway.stop(), 0)
            self.assertEqual(target.stop(), 0)

    def test_bridge(self):
        # A second engine bridges PUT ["news", ...] from the first; a client
        # of the second sees what is sent to the first.
        bridged = Daemon("--bridge", f'{self.daemon.host("ws")} PUT ["news","..."]',
                         name="bridged")
        try:
            binder = Binder(bridged.host("tcp"), "PUT", '["news","..."]', "--count", "1")
            # The bridge connects by itself, some time after the start.
            deadline = time.monotonic() + 5
            line = None
            while line is None and time.monotonic() < deadline:
                result = run(JSTP, "send", "--no-answer", "PUT", self.daemon.host("tcp"),
                             '["news","today"]', '"extra"')
                self.assertEqual(result.returncode, 0, result.stderr)
                try:
                    line = read_line(binder.process.stdout, timeout=0.3)
                except AssertionError:
                    pass
            self.assertIsNotNone(line, "nothing came through the bridge")
            self.assertEqual(json.loads(line)["body"], "extra")
            self.assertEqual(binder.finish()[0], 0)
        finally:
            self.assertEqual(bridged.stop(), 0)


class TestErrors(unittest.TestCase):
    def test_unreachable(self):
        port = free_port()
        for label in ("tcp", "ws"):
            with self.subTest(transport=label):
                result = run(JSTP, "send", "GET", f"{label}://127.0.0.1:{port}", '["x"]')
                self.assertEqual(result.returncode, 3)
                self.assertEqual(result.stderr.strip(),
                                 f"jstp: cannot reach {label}://127.0.0.1:{port}: "
                                 "Connection refused")
        for args in (["info", f"tcp://127.0.0.1:{port}"],
                     ["bind", f"tcp://127.0.0.1:{port}", "GET", '["x"]']):
            with self.subTest(args=args):
                result = run(JSTP, *args)
                self.assertEqual(result.returncode, 3)
                self.assertIn("cannot reach", result.stderr)

    def test_bad_arguments(self):
        host = "tcp://127.0.0.1:1"
        cases = [
            (["send", "GET", host, '["user",'], "RESOURCE-JSON is not valid JSON: at byte"),
            (["send", "GET", host, '{"a":1}'], "RESOURCE-JSON"),
            (["send", "GET", host, '["a"]', "{bad}"], "BODY-JSON is not valid JSON"),
            (["send", "FETCH", host, '["a"]'], "unknown method “FETCH”"),
            (["send", "BIND", host, '["a"]'], "jstp bind"),
            (["send", "GET", "http://127.0.0.1", '["a"]'], "unknown transport “http”"),
            (["send", "GET", host], "METHOD HOST RESOURCE-JSON"),
            (["send", "--header", "nonsense", "GET", host, '["a"]'], "NAME=JSON"),
            (["send", "--header", "token=[]", "GET", host, '["a"]'], "--header token"),
            (["send", "--timeout", "x", "GET", host, '["a"]'], "--timeout"),
            (["bind", host, "GET", '["a",1]'], "element 1"),
            (["bind", host, "GET", '["...","..."]'], "PATTERN-JSON is not a valid pattern"),
            (["bind", host, "FETCH", '["a"]'], "unknown method"),
            (["info"], "HOST"),
            (["frobnicate"], "unknown command “frobnicate”"),
            ([], "Commands:"),
        ]
        for args, message in cases:
            with self.subTest(args=args):
                result = run(JSTP, *args)
                self.assertEqual(result.returncode, 2, result.stderr)
                self.assertIn(message, result.stderr)

    def test_help(self):
        result = run(JSTP, "--help")
        self.assertEqual(result.returncode, 0)
        for word in ("send", "bind", "info", "Exit status"):
            self.assertIn(word, result.stdout)
        for command, words in (("send", ("--wait", "--no-answer", "--via", "--header",
                                         "Examples:")),
                               ("bind", ("--count", "--answer", "Examples:")),
                               ("info", ("--json",))):
            with self.subTest(command=command):
                for args in ((command, "--help"), ("help", command)):
                    result = run(JSTP, *args)
                    self.assertEqual(result.returncode, 0)
                    self.assertIn(f"jstp {command}", result.stdout)
                    for word in words:
                        self.assertIn(word, result.stdout)


if __name__ == "__main__":
    unittest.main(verbosity=2)
