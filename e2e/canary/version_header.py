#!/usr/bin/env python3
"""e2e.canary.version-header: every response through the real HAProxy says which side served
it (X-Sluice-Canary true|false, X-Sluice-Canary-Revision = status.canaryRevision on the
canary's), checked against the backend's own X-Served-By on each of 600 responses; HAProxy's
metrics in real Prometheus are split by version (one series per side, shares matching the
step); a renamed header is used after the change and `versionHeader.enabled: false` removes
them."""
import http.client
import json
import time

from sluice_e2e import Stack, check, log, main, wait_for

HOST = "payment.version.local"
NAME = "version"


def sample(s, count, tenant_prefix="vh-"):
    """`count` requests with distinct tenants: [(served by, {header: value})]."""
    out = []
    port = int(s.env["GATEWAY_PORT"])
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    for i in range(count):
        headers = {"Host": HOST, "X-Tenant-ID": f"{tenant_prefix}{i}"}
        try:
            conn.request("GET", "/", headers=headers)
            resp = conn.getresponse()
        except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError):
            # A header change reloads HAProxy, and the old worker closes idle keep-alive
            # connections: a GET on a reused connection is sent again on a new one, as
            # HTTP clients do (RFC 9112 9.3.1).
            conn.close()
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
            conn.request("GET", "/", headers=headers)
            resp = conn.getresponse()
        resp.read()
        check(resp.status == 200, f"request {i}: status {resp.status}")
        out.append((resp.getheader("X-Served-By", "none"),
                    {k.lower(): v for k, v in resp.getheaders()}))
    conn.close()
    return out


def versions_by_proxy(s, ns):
    """HAProxy's responses per backend of this rollout, from real Prometheus."""
    rows = s.prometheus_query(
        f'sum by (proxy) (haproxy_backend_http_responses_total{{proxy=~"canaryrollout:{ns}:'
        f'{NAME}:{NAME}:.*"}})')
    return {labels["proxy"].rsplit(":", 1)[1]: value for labels, value in rows}


def scenario(build_dir):
    with Stack(build_dir, "version") as s:
        ns = s.env["NAMESPACE"]
        s.start_canary(NAME, HOST, "3s")
        st = s.pause_at_step(NAME, 2, 25)
        revision = st["canaryRevision"]
        check(revision, f"no canaryRevision in status {st}")

        before = versions_by_proxy(s, ns)
        responses = sample(s, 600)
        served = {"stable": 0, "canary": 0}
        for i, (side, headers) in enumerate(responses):
            check(side in served, f"response {i} served by {side!r}")
            served[side] += 1
            want = "true" if side == "canary" else "false"
            check(headers.get("x-sluice-canary") == want,
                  f"response {i} from {side}: X-Sluice-Canary {headers.get('x-sluice-canary')!r}"
                  f", want {want!r}")
            if side == "canary":
                check(headers.get("x-sluice-canary-revision") == revision,
                      f"response {i}: revision {headers.get('x-sluice-canary-revision')!r} != "
                      f"status.canaryRevision {revision!r}")
            else:
                check("x-sluice-canary-revision" not in headers,
                      f"response {i} from stable carries a revision header")
        share = 100.0 * served["canary"] / len(responses)
        log(f"600 responses: {served}, canary share {share:.1f}% at weight 25%; headers match "
            f"X-Served-By on every one")
        check(abs(share - 25) <= 6, f"canary share {share:.1f}% not within 6 points of 25%")

        # The same split in the gateway's own metrics, by version, from Prometheus.
        def grown():
            after = versions_by_proxy(s, ns)
            delta = {k: after.get(k, 0) - before.get(k, 0) for k in ("stable", "canary")}
            return delta if sum(delta.values()) >= len(responses) else None
        delta = wait_for(grown, 15, "Prometheus to scrape the new HAProxy counters")
        check(delta["canary"] >= served["canary"] and delta["stable"] >= served["stable"],
              f"Prometheus counted fewer responses per version than were served: {delta} vs "
              f"{served}")
        metric_share = 100.0 * delta["canary"] / sum(delta.values())
        log(f"Prometheus haproxy_backend_http_responses_total by version: +{delta}, canary "
            f"{metric_share:.1f}%")
        check(abs(metric_share - 25) <= 8,
              f"Prometheus canary share {metric_share:.1f}% not within 8 points of 25%")

        # A renamed header is used after the change (a reload), then none at all.
        s.kubectl("patch", "canaryrollout", NAME, "--type=merge", "-p",
                  json.dumps({"spec": {"versionHeader": {"name": "X-Version-Canary",
                                                         "revisionName": ""}}}))

        def renamed():
            got = sample(s, 40, "rn-")
            ok = all(h.get("x-version-canary") == ("true" if side == "canary" else "false") and
                     "x-sluice-canary" not in h and "x-sluice-canary-revision" not in h
                     for side, h in got)
            return got if ok else None
        wait_for(renamed, 20, "the renamed version header on every response")
        st = s.status(NAME)
        check(st.get("currentStep") == 2 and st.get("canaryRevision") == revision,
              f"changing the header restarted or moved the rollout: {st}")
        s.kubectl("patch", "canaryrollout", NAME, "--type=merge", "-p",
                  json.dumps({"spec": {"versionHeader": {"enabled": False}}}))

        def gone():
            got = sample(s, 40, "off-")
            return got if all("x-version-canary" not in h and "x-sluice-canary" not in h
                              for _, h in got) else None
        started = time.monotonic()
        wait_for(gone, 20, "no version header once versionHeader.enabled is false")
        log(f"renamed header in force, then none {time.monotonic() - started:.1f}s after "
            f"enabled: false; rollout still at step 3 with revision {revision}")


if __name__ == "__main__":
    main(scenario)
