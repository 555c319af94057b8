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
import random
import re
import signal
import ssl
import subprocess
import sys
import tempfile
import threading
import time

CONNECTIONS = 4  # keep-alive connections the client keeps, as a pool
RATE = 100  # admissions per second, at most


class Replica:
    def __init__(self, binary, cert, key, name, delay=0):
        self.name = name
        self.log = tempfile.NamedTemporaryFile(prefix=f"webhook-{name}-", suffix=".log", delete=False)
        self.process = subprocess.Popen(
            [binary, "serve", "--listen", "127.0.0.1:0", "--tls-cert", cert, "--tls-key", key,
             "--shutdown-timeout", "10", "--shutdown-delay", str(delay)],
            stderr=self.log, stdout=subprocess.DEVNULL)
        self.port = None
        deadline = time.monotonic() + 20
        while self.port is None and time.monotonic() < deadline:
            with open(self.log.name, encoding="utf-8", errors="replace") as f:
                m = re.search(r"serving listen=[^ ]*:(\d+)", f.read())
            if m:
                self.port = int(m.group(1))
            elif self.process.poll() is not None:
                break
            else:
                time.sleep(0.05)
        if self.port is None:
            raise RuntimeError(f"webhook {name} did not start: " + open(self.log.name).read())

    def ready(self, context):
        try:
            conn = http.client.HTTPSConnection("127.0.0.1", self.port, context=context, timeout=2)
            conn.request("GET", "/readyz")
            return conn.getresponse().status == 200
        except OSError:
            return False

    def stop(self):
        self.process.send_signal(signal.SIGTERM)

    def wait(self):
        return self.process.wait(timeout=30)


class ApiServer:
    """Sends AdmissionReviews over a pool of keep-alive connections."""

    def __init__(self, body, context):
        self.body = body
        self.context = context
        self.endpoints = []
        self.lock = threading.Lock()
        self.random = random.Random(1)
        self.pool = [None] * CONNECTIONS
        self.sent = self.failed_calls = self.failed_admissions = 0
        self.errors = {}

    def set_endpoints(self, replicas):
        with self.lock:
            self.endpoints = [r.port for r in replicas]

    def _connect(self):
        with self.lock:
            port = self.random.choice(self.endpoints)
        return http.client.HTTPSConnection("127.0.0.1", port, context=self.context, timeout=10)

    def _call(self, slot):
        conn = self.pool[slot] or self._connect()
        self.pool[slot] = None
        try:
            conn.request("POST", "/mutate?timeout=10s", self.body, {"Content-Type": "application/json"})
            response = conn.getresponse()
            answer = response.read()
        except (OSError, http.client.HTTPException) as e:
            conn.close()
            return type(e).__name__
        if response.status != 200 or b'"allowed":true' not in answer:
            conn.close()
            return f"HTTP {response.status}"
        if response.will_close:  # Connection: close (a draining replica): reconnect next time
            conn.close()
        else:
            self.pool[slot] = conn
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


def scenario(binary, cert, key, body, lag, delay, context):
    old = [Replica(binary, cert, key, "old-a", delay), Replica(binary, cert, key, "old-b", delay)]
    api = ApiServer(body, context)
    api.set_endpoints(old)
    stop = threading.Event()
    load = threading.Thread(target=api.run, args=(stop,))
    load.start()
    time.sleep(0.5)
    serving = list(old)
    exits = []
    try:
        for i, victim in enumerate(old):
            new = Replica(binary, cert, key, f"new-{i}", delay)
            deadline = time.monotonic() + 20
            while not new.ready(context):
                if time.monotonic() > deadline:
                    raise RuntimeError(f"webhook new-{i} never became ready")
                time.sleep(0.05)
            serving.append(new)
            api.set_endpoints(serving)
            time.sleep(0.3)
            serving.remove(victim)
            if lag == 0:  # the endpoint is gone before the process is told to stop
                api.set_endpoints(serving)
                victim.stop()
            else:
                victim.stop()
                time.sleep(lag)
                api.set_endpoints(serving)
            exits.append(victim.wait())
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
    scenarios = [(float(a.split("+")[0]), int(a.split("+")[1]) if "+" in a else 0)
                 for a in argv[3:]] or [(0.0, 0), (1.0, 0)]
    with open(fixture, encoding="utf-8") as f:
        body = json.dumps(json.load(f), separators=(",", ":"))
    work = tempfile.mkdtemp(prefix="webhook-rolling-")
    cert, key = os.path.join(work, "tls.crt"), os.path.join(work, "tls.key")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
                    "-nodes", "-days", "1", "-subj", "/CN=127.0.0.1", "-addext",
                    "subjectAltName=IP:127.0.0.1", "-keyout", key, "-out", cert],
                   check=True, capture_output=True)
    context = ssl.create_default_context(cafile=cert)
    failures = []
    for lag, delay in scenarios:
        api, exits = scenario(binary, cert, key, body, lag, delay, context)
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
