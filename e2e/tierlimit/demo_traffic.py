#!/usr/bin/env python3
"""For `make demo`: a free and a premium customer of checkout sending 50 rps each for a few
seconds at once through the local stack's HAProxy; prints what each got, measured from the
responses, and the headers of one refusal. Usage: demo_traffic.py GATEWAY_PORT HOST [SECONDS]"""
import json
import sys

from tl_e2e import Client, in_parallel


class Env:
    def __init__(self, port):
        self.env = {"GATEWAY_PORT": port}


def main():
    port, host = sys.argv[1], sys.argv[2]
    seconds = float(sys.argv[3]) if len(sys.argv) > 3 else 5
    free = Client(Env(port), host, {"X-Tier": "free", "X-Customer-ID": "acme-free"})
    premium = Client(Env(port), host, {"X-Tier": "premium", "X-Customer-ID": "globex"})
    in_parallel(lambda: free.paced(50, seconds), lambda: premium.paced(50, seconds))
    for name, c in (("free customer acme-free", free), ("premium customer globex", premium)):
        print(f"  {name}: 50 rps for {seconds:g} s -> {c.statuses()}")
    refused = [a for a in free.answers if a["status"] == 429]
    if refused:
        headers = {k: v for k, v in refused[-1].items() if k not in ("t", "ms", "status")}
        print(f"  a 429 says: {json.dumps(headers)}")


if __name__ == "__main__":
    main()
