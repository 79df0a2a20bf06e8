#!/usr/bin/env python3
"""Prints a free TCP port on 127.0.0.1 for a service a script is about to start.

Ports come from below the kernel's ephemeral range (ip_local_port_range), so the outgoing
connections of everything else running (kubectl, Prometheus scrapes, load generators) can never
take a port between this choice and the service's bind; bind(port 0) picks from inside that
range and lost that race in CI. A port is checked free by binding it, and every port handed out
is recorded in STATE_FILE so one stack or cluster never gets the same port twice.

Usage: free_port.py STATE_FILE
"""
import os
import random
import socket
import sys


def main():
    state = sys.argv[1]
    taken = set()
    if os.path.exists(state):
        with open(state) as f:
            taken = {line.strip() for line in f if line.strip()}
    with open("/proc/sys/net/ipv4/ip_local_port_range") as f:
        low, high = (int(x) for x in f.read().split())
    lo, hi = (10000, low - 1) if low > 12000 else (high + 1, 65535)
    for _ in range(2000):
        port = random.randint(lo, hi)
        if str(port) in taken:
            continue
        s = socket.socket()
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            continue
        finally:
            s.close()
        with open(state, "a") as f:
            f.write(f"{port}\n")
        print(port)
        return
    sys.exit(f"free_port: no free port in {lo}..{hi}")


if __name__ == "__main__":
    main()
