#!/usr/bin/env python3
"""A replacement of the extender under scheduling load, without a cluster.

Two mpshare-extender processes (serve --standalone with a node file, plain
HTTP as the chart's sidecar serves) stand for the old and the new extender. A
client stands in for kube-scheduler and the Service in front of the extender:
it keeps a few keep-alive connections, each (re)opened to an endpoint picked
from the current endpoint list (as kube-proxy balances connections), and
schedules pods continuously the way kube-scheduler calls an extender with
nodeCacheCapable: true, a filter of the pod over every node by name
(NodeNames form), then a prioritize of the nodes that passed. The update:
start the new process, add it to the endpoints once /readyz answers 200,
send SIGTERM to the old one and remove it from the endpoints LAG seconds
later (the time the endpoint change takes to reach kube-proxy; LAG 0 =
removed just before the SIGTERM), wait for it to exit.

A scenario LAG+DELAY starts the extenders with --shutdown-delay DELAY (the
chart's extender.shutdownDelaySeconds): the stopping extender goes on
serving, not ready, for DELAY seconds before it closes its listener.

Each scenario prints the calls sent and those that failed (a failed filter is
a failed scheduling attempt: the pod waits and is retried). Checked: the old
extender exits 0 (drained in time), every answer that came is a whole filter
or prioritize result, and with no lag, or a delay above the lag, no call
fails. With a lag and no delay, the calls that open a connection to the
stopped extender before the endpoint change arrives are refused; they are
counted, not checked.

usage: rolling_update_test.py EXTENDER_BINARY [LAG[+DELAY]...]   (default: 0 1 1+3)
"""

import http.client
import json
import random
import re
import signal
import subprocess
import sys
import tempfile
import threading
import time

CONNECTIONS = 2  # keep-alive connections kept, as a pool
RATE = 100  # pods scheduled per second, at most (a filter and a prioritize each)
NODES = 20
PREFIX = "/scheduler"


def node_file(directory):
    items = []
    for i in range(NODES):
        items.append({"apiVersion": "v1", "kind": "Node", "metadata": {
            "name": f"gpu-{i}", "labels": {
                "mpshare.io/mps": "enabled", "nvidia.com/gpu.count": "4",
                "nvidia.com/gpu.memory": "40960", "nvidia.com/gpu.replicas": "48"}}})
    path = f"{directory}/nodes.json"
    with open(path, "w", encoding="utf-8") as f:
        json.dump({"apiVersion": "v1", "kind": "NodeList", "items": items}, f)
    return path


def pod(i):
    return {"metadata": {"name": f"p{i}", "namespace": "ml", "uid": f"uid-{i}",
                         "annotations": {"mpshare.io/thread-percentage": "25",
                                         "mpshare.io/memory-limit": "4Gi"}},
            "spec": {"containers": [{"name": "c", "resources": {"limits": {"nvidia.com/gpu": "1"}}}]}}


class Extender:
    def __init__(self, binary, nodes, name, delay):
        self.name = name
        self.log = tempfile.NamedTemporaryFile(prefix=f"extender-{name}-", suffix=".log", delete=False)
        self.process = subprocess.Popen(
            [binary, "serve", "--listen", "127.0.0.1:0", "--standalone", "--nodes", nodes,
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
            raise RuntimeError(f"extender {name} did not start: " + open(self.log.name).read())

    def ready(self):
        try:
            conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=2)
            conn.request("GET", "/readyz")
            return conn.getresponse().status == 200
        except OSError:
            return False

    def stop(self):
        self.process.send_signal(signal.SIGTERM)

    def wait(self):
        return self.process.wait(timeout=30)


class Scheduler:
    """Filters and prioritizes pods over a pool of keep-alive connections."""

    def __init__(self):
        self.endpoints = []
        self.lock = threading.Lock()
        self.random = random.Random(1)
        self.pool = [None] * CONNECTIONS
        self.sent = self.failed = self.pods = 0
        self.errors = {}
        self.node_names = [f"gpu-{i}" for i in range(NODES)]

    def set_endpoints(self, extenders):
        with self.lock:
            self.endpoints = [e.port for e in extenders]

    def _connect(self):
        with self.lock:
            port = self.random.choice(self.endpoints)
        return http.client.HTTPConnection("127.0.0.1", port, timeout=10)

    def _call(self, slot, verb, args):
        """The decoded answer, or an error string."""
        self.sent += 1
        conn = self.pool[slot] or self._connect()
        self.pool[slot] = None
        try:
            conn.request("POST", f"{PREFIX}/{verb}", json.dumps(args), {"Content-Type": "application/json"})
            response = conn.getresponse()
            body = response.read()
        except (OSError, http.client.HTTPException) as e:
            conn.close()
            return f"{verb}: {type(e).__name__}"
        if response.status != 200:
            conn.close()
            return f"{verb}: HTTP {response.status}"
        if response.will_close:  # Connection: close (a draining extender): reconnect next time
            conn.close()
        else:
            self.pool[slot] = conn
        try:
            return json.loads(body)
        except ValueError:
            return f"{verb}: not JSON"

    def _fail(self, error):
        self.failed += 1
        self.errors[error] = self.errors.get(error, 0) + 1

    def schedule(self, slot):
        """One scheduling cycle: filter over every node, prioritize the ones left."""
        p = pod(self.pods)
        self.pods += 1
        filtered = self._call(slot, "filter", {"Pod": p, "Nodes": None, "NodeNames": self.node_names})
        if isinstance(filtered, str):
            return self._fail(filtered)
        if filtered.get("Error") or sorted(filtered.get("NodeNames") or []) != sorted(self.node_names):
            return self._fail("filter: wrong answer " + json.dumps(filtered)[:200])
        scores = self._call(slot, "prioritize", {"Pod": p, "Nodes": None, "NodeNames": filtered["NodeNames"]})
        if isinstance(scores, str):
            return self._fail(scores)
        if not isinstance(scores, list) or sorted(s.get("Host") for s in scores) != sorted(self.node_names):
            return self._fail("prioritize: wrong answer " + json.dumps(scores)[:200])

    def run(self, stop):
        slot = 0
        while not stop.is_set():
            self.schedule(slot)
            slot = (slot + 1) % CONNECTIONS
            time.sleep(1.0 / RATE)


def scenario(binary, nodes, lag, delay):
    old = Extender(binary, nodes, "old", delay)
    scheduler = Scheduler()
    scheduler.set_endpoints([old])
    stop = threading.Event()
    load = threading.Thread(target=scheduler.run, args=(stop,))
    load.start()
    time.sleep(0.5)
    serving = [old]
    try:
        new = Extender(binary, nodes, "new", delay)
        serving.append(new)
        deadline = time.monotonic() + 20
        while not new.ready():
            if time.monotonic() > deadline:
                raise RuntimeError("the new extender never became ready")
            time.sleep(0.05)
        scheduler.set_endpoints(serving)
        time.sleep(0.3)
        serving.remove(old)
        if lag == 0:  # the endpoint is gone before the process is told to stop
            scheduler.set_endpoints(serving)
            old.stop()
        else:
            old.stop()
            time.sleep(lag)
            scheduler.set_endpoints(serving)
        exit_code = old.wait()
        time.sleep(0.3)
    finally:
        stop.set()
        load.join()
        for e in serving + [old]:
            if e.process.poll() is None:
                e.stop()
                e.wait()
    print(f"lag {lag:g} s, shutdown delay {delay} s: pods {scheduler.pods}, calls {scheduler.sent}, "
          f"failed {scheduler.failed} {scheduler.errors}, old extender's exit code {exit_code}")
    return scheduler, exit_code


def main(argv):
    if len(argv) < 2:
        print(__doc__, file=sys.stderr)
        return 2
    binary = argv[1]
    scenarios = [(float(a.split("+")[0]), int(a.split("+")[1]) if "+" in a else 0)
                 for a in argv[2:]] or [(0.0, 0), (1.0, 0), (1.0, 3)]
    nodes = node_file(tempfile.mkdtemp(prefix="extender-rolling-"))
    failures = []
    for lag, delay in scenarios:
        scheduler, exit_code = scenario(binary, nodes, lag, delay)
        name = f"lag {lag:g}, delay {delay}"
        if exit_code != 0:
            failures.append(f"{name}: the old extender exited with {exit_code}")
        if scheduler.sent < 50:  # the update happened under load, however slow the machine
            failures.append(f"{name}: only {scheduler.sent} calls sent")
        wrong = {e: n for e, n in scheduler.errors.items() if "wrong answer" in e or "HTTP" in e}
        if wrong:
            failures.append(f"{name}: answers that were not whole results {wrong}")
        if (lag == 0 or delay > lag) and scheduler.failed:
            failures.append(f"{name}: {scheduler.failed} calls failed")
    for f in failures:
        print("FAILED:", f, file=sys.stderr)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
