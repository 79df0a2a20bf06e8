#!/usr/bin/env python3
"""Tenant-tagged load through the gateway, measuring which instance served each request.

Prints one JSON object: {"requests", "errors", "byInstance": {name: n},
"byInstanceStatus": {name: {status: n}}, "tenants": {tenant: [instances...]}} (tenants only with
--record-tenants). The split is measured from the X-Served-By header of real responses, not from
gateway configuration: a response without it (the gateway's own 404 or 503) counts as "none", a
request that got no response as "unreachable" with status 0.
"""
import argparse
import http.client
import json
import threading
import time


def worker(host, port, vhost, jobs, lock, result, record, deadline, extra_headers=()):
    conn = None
    while time.monotonic() < deadline:
        with lock:
            if not jobs:
                return
            tenant = jobs.pop()
        headers = {"X-Tenant-ID": tenant} if tenant else {}
        if vhost:
            headers["Host"] = vhost
        for name, value in extra_headers:
            headers[name] = value
        started = time.monotonic()
        try:
            if conn is None:
                conn = http.client.HTTPConnection(host, port, timeout=5)
            conn.request("GET", "/", headers=headers)
            resp = conn.getresponse()
            resp.read()
            served = resp.getheader("X-Served-By", "none")
            status = resp.status
        except (OSError, http.client.HTTPException):
            served, status = "unreachable", 0
            if conn is not None:
                conn.close()
            conn = None
        with lock:
            result.setdefault("latencies", []).append(time.monotonic() - started)
            result["requests"] += 1
            if status == 0 or status >= 500:
                result["errors"] += 1
            result["byInstance"][served] = result["byInstance"].get(served, 0) + 1
            codes = result["byInstanceStatus"].setdefault(served, {})
            codes[str(status)] = codes.get(str(status), 0) + 1
            if record and tenant:
                result["tenants"].setdefault(tenant, set()).add(served)
    if conn is not None:
        conn.close()


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--url-host", default="127.0.0.1")
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--host", default="", help="Host header (selects the route)")
    p.add_argument("--tenants", type=int, default=1000, help="distinct tenant ids")
    p.add_argument("--rounds", type=int, default=1, help="requests per tenant")
    p.add_argument("--no-header", type=int, default=0, help="extra requests without a tenant")
    p.add_argument("--prefix", default="tenant-")
    p.add_argument("--concurrency", type=int, default=16)
    p.add_argument("--max-seconds", type=float, default=30)
    p.add_argument("--record-tenants", action="store_true")
    p.add_argument("--header", action="append", default=[],
                   help="extra request header 'Name: value' (repeatable), e.g. 'X-Tier: premium'")
    a = p.parse_args()
    extra = [tuple(part.strip() for part in h.split(":", 1)) for h in a.header]

    jobs = [f"{a.prefix}{i}" for i in range(a.tenants) for _ in range(a.rounds)]
    jobs += [""] * a.no_header
    jobs.reverse()
    result = {"requests": 0, "errors": 0, "byInstance": {}, "byInstanceStatus": {}, "tenants": {}}
    lock = threading.Lock()
    deadline = time.monotonic() + a.max_seconds
    threads = [threading.Thread(target=worker,
                                args=(a.url_host, a.port, a.host, jobs, lock, result,
                                      a.record_tenants, deadline, extra))
               for _ in range(a.concurrency)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    result["tenants"] = {k: sorted(v) for k, v in result["tenants"].items()}
    latencies = sorted(result.pop("latencies", []))
    if latencies:
        result["latencyMs"] = {q: round(1000 * latencies[min(len(latencies) - 1,
                                                             int(len(latencies) * f))], 2)
                               for q, f in (("p50", 0.5), ("p99", 0.99))}
    print(json.dumps(result))


if __name__ == "__main__":
    main()
