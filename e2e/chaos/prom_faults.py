#!/usr/bin/env python3
"""prom-faults: a reverse proxy in front of a real Prometheus that breaks its answers on demand,
for the chaos scenarios (in the spirit of e2e/k8s/faults, the API server's fault proxy).
Everything is forwarded unchanged except instant queries (/api/v1/query) in a fault mode:

  down       the proxy's port is closed: connection refused
  reset      the connection is accepted and closed without an answer
  slow       the real answer, after DELAY seconds (longer than the operator's query timeout)
  garbage    200 with an HTML page, or with the real JSON cut in half (in turn)
  nan        the real answer with every sample value "NaN"
  inf        the real answer with every sample value "+Inf" or "-Inf" (in turn)
  wrongtype  the real answer as a matrix, a string, or labelled "scalar" while still a vector
  empty      "success" with no series
  error      "status": "error": 422 execution, 503 unavailable, 200 with status error (in turn)

Admin port (plain HTTP):
  POST   /mode?name=garbage[&delay=3]   switch the mode (pass: forward everything)
  DELETE /mode                          back to pass
  GET    /stats                         {"mode", "queries": {mode: n}, "variants": {name: n}}

    prom_faults.py --upstream http://127.0.0.1:9090 --ports-file FILE

writes "PROXY_PORT ADMIN_PORT" to FILE once both listen (127.0.0.1, ports picked by the kernel).
"""
import argparse
import http.server
import json
import os
import socket
import socketserver
import threading
import time
import urllib.error
import urllib.parse
import urllib.request

MODES = ("pass", "down", "reset", "slow", "garbage", "nan", "inf", "wrongtype", "empty", "error")


class State:
    def __init__(self, upstream):
        self.upstream = upstream.rstrip("/")
        self.lock = threading.Lock()
        self.mode = "pass"
        self.delay = 3.0
        self.turn = 0
        self.queries = {}
        self.variants = {}

    def take(self):
        """The mode for one query and its turn (for the modes that alternate), counted."""
        with self.lock:
            self.turn += 1
            self.queries[self.mode] = self.queries.get(self.mode, 0) + 1
            return self.mode, self.turn, self.delay

    def count(self, variant):
        with self.lock:
            self.variants[variant] = self.variants.get(variant, 0) + 1

    def stats(self):
        with self.lock:
            return {"mode": self.mode, "queries": dict(self.queries),
                    "variants": dict(self.variants)}


class Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True
    allow_reuse_address = True


def rewrite_values(body, fn):
    """Every sample value of a /api/v1/query answer through fn(old) -> new."""
    data = body.get("data", {})
    result = data.get("result")
    if data.get("resultType") == "vector":
        for series in result:
            series["value"][1] = fn(series["value"][1])
    elif data.get("resultType") == "scalar" and isinstance(result, list):
        result[1] = fn(result[1])
    return body


def mangle(state, mode, turn, status, body):
    """The broken (status, content type, bytes) for one answer of the real Prometheus."""
    as_json = json.loads(body)
    if mode == "garbage":
        if turn % 2:
            state.count("garbage-html")
            return 200, "text/html", (b"<html><head><title>502 Bad Gateway</title></head>"
                                      b"<body><h1>Bad Gateway</h1></body></html>")
        state.count("garbage-truncated-json")
        return 200, "application/json", body[:max(1, len(body) // 2)]
    if mode == "nan":
        state.count("nan")
        return status, "application/json", json.dumps(
            rewrite_values(as_json, lambda v: "NaN")).encode()
    if mode == "inf":
        sign = "+Inf" if turn % 2 else "-Inf"
        state.count(f"inf{sign[0]}")
        return status, "application/json", json.dumps(
            rewrite_values(as_json, lambda v: sign)).encode()
    if mode == "wrongtype":
        data = as_json.get("data", {})
        series = data.get("result") if data.get("resultType") == "vector" else []
        kind = ("matrix", "string", "scalar")[turn % 3]
        state.count(f"wrongtype-{kind}")
        if kind == "matrix":
            data["result"] = [{"metric": s["metric"], "values": [s["value"]]} for s in series]
        elif kind == "string":
            data["result"] = [time.time(), "not a number"]
        # "scalar": the type says one number, the result is still the vector's list.
        data["resultType"] = kind
        return status, "application/json", json.dumps(as_json).encode()
    if mode == "empty":
        state.count("empty")
        return 200, "application/json", json.dumps(
            {"status": "success", "data": {"resultType": "vector", "result": []}}).encode()
    raise ValueError(mode)


ERRORS = (
    (422, {"status": "error", "errorType": "execution",
           "error": "query processing would load too many samples into memory"}),
    (503, {"status": "error", "errorType": "unavailable", "error": "TSDB not ready"}),
    (200, {"status": "error", "errorType": "internal", "error": "injected by prom-faults"}),
)


def handler_for(state):
    class Proxy(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args):
            pass

        def do_GET(self):
            self.forward(None)

        def do_POST(self):
            length = int(self.headers.get("Content-Length") or 0)
            self.forward(self.rfile.read(length) if length else b"")

        def reply(self, status, content_type, body):
            try:
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)
            except OSError:
                self.close_connection = True  # the client gave up first (slow)

        def forward(self, data):
            is_query = urllib.parse.urlsplit(self.path).path == "/api/v1/query"
            mode, turn, delay = state.take() if is_query else ("pass", 0, 0)
            if mode in ("reset", "down"):
                # down: a connection the client kept alive from before the port closed.
                state.count(mode)
                # SO_LINGER 0: the close is a RST, the client sees the connection reset.
                self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                                           b"\x01\x00\x00\x00\x00\x00\x00\x00")
                self.close_connection = True
                return
            if mode == "error":
                status, body = ERRORS[turn % len(ERRORS)]
                state.count(f"error-{status}")
                self.reply(status, "application/json", json.dumps(body).encode())
                return
            if mode == "slow":
                state.count("slow")
                time.sleep(delay)
            req = urllib.request.Request(state.upstream + self.path, data=data,
                                         method=self.command)
            if self.headers.get("Content-Type"):
                req.add_header("Content-Type", self.headers["Content-Type"])
            try:
                with urllib.request.urlopen(req, timeout=10) as r:
                    status, ctype, body = r.status, r.headers.get("Content-Type"), r.read()
            except urllib.error.HTTPError as e:
                status, ctype, body = e.code, e.headers.get("Content-Type"), e.read()
            except OSError as e:
                self.reply(502, "text/plain", f"prom-faults: upstream: {e}".encode())
                return
            if mode in ("garbage", "nan", "inf", "wrongtype", "empty") and status == 200:
                try:
                    status, ctype, body = mangle(state, mode, turn, status, body)
                except (ValueError, KeyError, TypeError, IndexError):
                    pass  # not a query answer this proxy understands: as it came
            self.reply(status, ctype or "application/json", body)

    return Proxy


class Listener:
    """The proxy's listening socket, closed for mode `down` and opened again on the same port."""

    def __init__(self, state):
        self.state = state
        self.port = 0
        self.server = None
        self.lock = threading.Lock()
        self.open()

    def open(self):
        with self.lock:
            if self.server is not None:
                return
            self.server = Server(("127.0.0.1", self.port), handler_for(self.state))
            self.port = self.server.server_address[1]
            threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        with self.lock:
            if self.server is None:
                return
            self.server.shutdown()
            self.server.server_close()
            self.server = None


def admin_handler(state, listener):
    class Admin(http.server.BaseHTTPRequestHandler):
        def log_message(self, *args):
            pass

        def answer(self, status, obj):
            body = json.dumps(obj).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def set_mode(self, mode, delay=None):
            with state.lock:
                state.mode = mode
                if delay is not None:
                    state.delay = delay
            if mode == "down":
                listener.close()
            else:
                listener.open()

        def do_POST(self):
            url = urllib.parse.urlsplit(self.path)
            q = urllib.parse.parse_qs(url.query)
            mode = q.get("name", ["pass"])[0]
            if url.path != "/mode" or mode not in MODES:
                self.answer(400, {"error": f"POST /mode?name=one of {', '.join(MODES)}"})
                return
            self.set_mode(mode, float(q["delay"][0]) if "delay" in q else None)
            self.answer(200, state.stats())

        def do_DELETE(self):
            self.set_mode("pass")
            self.answer(200, state.stats())

        def do_GET(self):
            self.answer(200, state.stats())

    return Admin


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--upstream", required=True)
    ap.add_argument("--ports-file", required=True)
    args = ap.parse_args()
    state = State(args.upstream)
    listener = Listener(state)
    admin = Server(("127.0.0.1", 0), admin_handler(state, listener))
    with open(args.ports_file + ".tmp", "w") as f:
        f.write(f"{listener.port} {admin.server_address[1]}\n")
    os.replace(args.ports_file + ".tmp", args.ports_file)
    admin.serve_forever()


if __name__ == "__main__":
    main()
