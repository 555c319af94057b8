#!/usr/bin/env python3
"""A rolling update of the webhook under admission load, without a cluster.

Two mpshare-webhook processes serve; a client stands in for the API server
and the Service in front of the replicas: it keeps a few keep-alive
connections, each (re)opened to an endpoint picked from the current endpoint
list (as kube-proxy balances connections), and sends AdmissionReviews
continuously. The update follows the chart's Deployment (2 replicas, the
default RollingUpdate: maxSurge 1, maxUnavailable 0): start a new process,
add it to the endpoints once /readyz answers 200, send SIGTERM to an old one
and remove it from the endpoints LAG seconds later (the time the endpoint
change takes to reach kube-proxy; LAG 0 = removed just before the SIGTERM,
as a preStop delay arranges), wait for it to exit; then the second.

Each scenario prints admissions sent, calls that failed (failurePolicy Fail
refuses those pod creations) and those that failed again when retried once on
a fresh connection (as a controller recreating the pod would). Checked: with
no lag no call fails, and every old replica exits 0 (drained in time). With a
lag, the calls that open a connection to the stopped replica before the
endpoint change arrives are refused; they are counted, not checked.

A scenario LAG+DELAY starts the replicas with --shutdown-delay DELAY (the
chart's webhook.shutdownDelaySeconds): a stopping replica goes on serving, not
ready, for DELAY seconds before it closes its listener. Checked: with DELAY
above LAG no call fails either.

usage: rolling_update_test.py WEBHOOK_BINARY FIXTURE_REQUEST_JSON [LAG[+DELAY]...]
(default: 0 1)
"""

import http.client
import json
import os
import ssl
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "support"))
from rolling_update import EndpointPool, ServerProcess, parse_scenarios, retire  # noqa: E402

CONNECTIONS = 4  # keep-alive connections the client keeps, as a pool
RATE = 100  # admissions per second, at most


def replica(binary, cert, key, name, delay=0):
    return ServerProcess("webhook", name, [
        binary, "serve", "--listen", "127.0.0.1:0", "--tls-cert", cert, "--tls-key", key,
        "--shutdown-timeout", "10", "--shutdown-delay", str(delay)])


class ApiServer:
    """Sends AdmissionReviews over a pool of keep-alive connections."""

    def __init__(self, body, connect):
        self.body = body
        self.pool = EndpointPool(CONNECTIONS, connect)
        self.sent = self.failed_calls = self.failed_admissions = 0
        self.errors = {}

    def _call(self, slot):
        answer = self.pool.post(slot, "/mutate?timeout=10s", self.body)
        if isinstance(answer, str):
            return answer
        status, body = answer
        if status != 200 or b'"allowed":true' not in body:
            return f"HTTP {status}"
        return None

    def admit(self, slot):
        self.sent += 1
        error = self._call(slot)
        if error is None:
            return
        self.failed_calls += 1
        self.errors[error] = self.errors.get(error, 0) + 1
        if self._call(slot) is not None:  # one retry, on a fresh connection
            self.failed_admissions += 1

    def run(self, stop):
        slot = 0
        while not stop.is_set():
            self.admit(slot)
            slot = (slot + 1) % CONNECTIONS
            time.sleep(1.0 / RATE)


def scenario(binary, cert, key, body, lag, delay, connect):
    old = [replica(binary, cert, key, "old-a", delay), replica(binary, cert, key, "old-b", delay)]
    api = ApiServer(body, connect)
    api.pool.set_endpoints(old)
    stop = threading.Event()
    load = threading.Thread(target=api.run, args=(stop,))
    load.start()
    time.sleep(0.5)
    serving = list(old)
    exits = []
    try:
        for i, victim in enumerate(old):
            new = replica(binary, cert, key, f"new-{i}", delay)
            new.wait_ready(connect)
            serving.append(new)
            api.pool.set_endpoints(serving)
            time.sleep(0.3)
            exits.append(retire(victim, serving, api.pool, lag))
            time.sleep(0.3)
    finally:
        stop.set()
        load.join()
        for r in serving:
            r.stop()
        for r in serving:
            r.wait()
    print(f"lag {lag:g} s, shutdown delay {delay} s: admissions {api.sent}, failed calls {api.failed_calls} {api.errors}, "
          f"failed after one retry {api.failed_admissions}, old replicas' exit codes {exits}")
    return api, exits


def main(argv):
    if len(argv) < 3:
        print(__doc__, file=sys.stderr)
        return 2
    binary, fixture = argv[1], argv[2]
    scenarios = parse_scenarios(argv[3:], [(0.0, 0), (1.0, 0)])
    with open(fixture, encoding="utf-8") as f:
        body = json.dumps(json.load(f), separators=(",", ":"))
    work = tempfile.mkdtemp(prefix="webhook-rolling-")
    cert, key = os.path.join(work, "tls.crt"), os.path.join(work, "tls.key")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
                    "-nodes", "-days", "1", "-subj", "/CN=127.0.0.1", "-addext",
                    "subjectAltName=IP:127.0.0.1", "-keyout", key, "-out", cert],
                   check=True, capture_output=True)
    context = ssl.create_default_context(cafile=cert)

    def connect(port):
        return http.client.HTTPSConnection("127.0.0.1", port, context=context, timeout=10)

    failures = []
    for lag, delay in scenarios:
        api, exits = scenario(binary, cert, key, body, lag, delay, connect)
        if any(code != 0 for code in exits):
            failures.append(f"lag {lag}: an old replica exited with {exits}")
        if api.sent < 50:
            failures.append(f"lag {lag}: only {api.sent} admissions sent")
        if (lag == 0 or delay > lag) and api.failed_calls:
            failures.append(f"lag {lag}, delay {delay}: {api.failed_calls} calls failed")
    for f in failures:
        print("FAILED:", f, file=sys.stderr)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
