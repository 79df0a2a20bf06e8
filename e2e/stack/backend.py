#!/usr/bin/env python3
"""Sample backend for the local stack.

One process plays one instance of a service (stable or canary). It answers every request with
a small JSON body naming itself (and the header X-Served-By), fails a configurable share of
requests with 500, adds configurable latency, and exports Prometheus metrics:

  http_requests_total{service,instance,code}
  http_request_duration_seconds_bucket{service,instance,le}

Runtime knobs (no restart):
  POST /admin/config?errorRate=0.5&latencyMs=20   set the knobs
  GET  /admin/stats                               counts and distinct tenants seen
  POST /admin/reset                               zero the counts (metrics keep counting)
"""
import argparse
import json
import random
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse

BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)


class State:
    def __init__(self, service, instance, error_rate, latency_ms):
        self.lock = threading.Lock()
        self.service = service
        self.instance = instance
        self.error_rate = error_rate
        self.latency_ms = latency_ms
        self.codes = {}          # code -> count (monotonic, for /metrics)
        self.buckets = [0] * len(BUCKETS)
        self.duration_sum = 0.0
        self.duration_count = 0
        self.window_requests = 0  # since the last /admin/reset
        self.window_errors = 0
        self.tenants = set()

    def record(self, code, seconds, tenant):
        with self.lock:
            self.codes[code] = self.codes.get(code, 0) + 1
            for i, le in enumerate(BUCKETS):
                if seconds <= le:
                    self.buckets[i] += 1
            self.duration_sum += seconds
            self.duration_count += 1
            self.window_requests += 1
            if code >= 500:
                self.window_errors += 1
            if tenant:
                self.tenants.add(tenant)

    def metrics(self):
        labels = f'service="{self.service}",instance="{self.instance}"'
        out = ["# HELP http_requests_total Requests served, by status code.",
               "# TYPE http_requests_total counter"]
        with self.lock:
            # Always expose both series so rate() over 5xx is 0 rather than absent.
            codes = dict(self.codes)
            codes.setdefault(200, 0)
            codes.setdefault(500, 0)
            for code, n in sorted(codes.items()):
                out.append(f'http_requests_total{{{labels},code="{code}"}} {n}')
            out += ["# HELP http_request_duration_seconds Request latency.",
                    "# TYPE http_request_duration_seconds histogram"]
            for le, n in zip(BUCKETS, self.buckets):
                out.append(f'http_request_duration_seconds_bucket{{{labels},le="{le}"}} {n}')
            out.append(f'http_request_duration_seconds_bucket{{{labels},le="+Inf"}} '
                       f'{self.duration_count}')
            out.append(f'http_request_duration_seconds_sum{{{labels}}} {self.duration_sum}')
            out.append(f'http_request_duration_seconds_count{{{labels}}} {self.duration_count}')
        return "\n".join(out) + "\n"


def make_handler(state):
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args):  # quiet: load tests send thousands of requests
            pass

        def send(self, code, body, content_type="application/json", extra=None):
            data = body.encode()
            self.send_response(code)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(data)))
            self.send_header("X-Served-By", state.instance)
            for k, v in (extra or {}).items():
                self.send_header(k, v)
            self.end_headers()
            self.wfile.write(data)

        def do_POST(self):
            url = urlparse(self.path)
            if url.path == "/admin/config":
                q = parse_qs(url.query)
                with state.lock:
                    if "errorRate" in q:
                        state.error_rate = float(q["errorRate"][0])
                    if "latencyMs" in q:
                        state.latency_ms = float(q["latencyMs"][0])
                    body = {"errorRate": state.error_rate, "latencyMs": state.latency_ms}
                return self.send(200, json.dumps(body))
            if url.path == "/admin/reset":
                with state.lock:
                    state.window_requests = 0
                    state.window_errors = 0
                    state.tenants.clear()
                return self.send(200, "{}")
            return self.serve()

        def do_GET(self):
            url = urlparse(self.path)
            if url.path == "/metrics":
                return self.send(200, state.metrics(), "text/plain; version=0.0.4")
            if url.path == "/admin/stats":
                with state.lock:
                    body = {"instance": state.instance, "service": state.service,
                            "requests": state.window_requests, "errors": state.window_errors,
                            "tenants": sorted(state.tenants)}
                return self.send(200, json.dumps(body))
            if url.path == "/healthz":
                return self.send(200, "ok", "text/plain")
            return self.serve()

        def serve(self):
            start = time.monotonic()
            with state.lock:
                error_rate, latency_ms = state.error_rate, state.latency_ms
            if latency_ms > 0:
                time.sleep(latency_ms / 1000.0)
            code = 500 if random.random() < error_rate else 200
            tenant = self.headers.get("X-Tenant-ID", "")
            self.send(code, json.dumps({"instance": state.instance, "code": code}))
            state.record(code, time.monotonic() - start, tenant)

    return Handler


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--service", required=True, help="service label, e.g. payment-api-canary")
    p.add_argument("--instance", required=True, help="instance name reported in X-Served-By")
    p.add_argument("--error-rate", type=float, default=0.0)
    p.add_argument("--latency-ms", type=float, default=0.0)
    a = p.parse_args()
    state = State(a.service, a.instance, a.error_rate, a.latency_ms)
    server = ThreadingHTTPServer(("127.0.0.1", a.port), make_handler(state))
    server.daemon_threads = True
    server.serve_forever()


if __name__ == "__main__":
    main()
