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
import os
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "support"))
from rolling_update import EndpointPool, ServerProcess, parse_scenarios, retire  # noqa: E402

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


def extender(binary, nodes, name, delay):
    return ServerProcess("extender", name, [
        binary, "serve", "--listen", "127.0.0.1:0", "--standalone", "--nodes", nodes,
        "--shutdown-timeout", "10", "--shutdown-delay", str(delay)])


def connect(port):
    return http.client.HTTPConnection("127.0.0.1", port, timeout=10)


class Scheduler:
    """Filters and prioritizes pods over a pool of keep-alive connections."""

    def __init__(self):
        self.pool = EndpointPool(CONNECTIONS, connect)
        self.sent = self.failed = self.pods = 0
        self.errors = {}
        self.node_names = [f"gpu-{i}" for i in range(NODES)]

    def _call(self, slot, verb, args):
        """The decoded answer, or an error string."""
        self.sent += 1
        answer = self.pool.post(slot, f"{PREFIX}/{verb}", json.dumps(args))
        if isinstance(answer, str):
            return f"{verb}: {answer}"
        status, body = answer
        if status != 200:
            return f"{verb}: HTTP {status}"
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
    old = extender(binary, nodes, "old", delay)
    scheduler = Scheduler()
    scheduler.pool.set_endpoints([old])
    stop = threading.Event()
    load = threading.Thread(target=scheduler.run, args=(stop,))
    load.start()
    time.sleep(0.5)
    serving = [old]
    try:
        new = extender(binary, nodes, "new", delay)
        serving.append(new)
        new.wait_ready(connect)
        scheduler.pool.set_endpoints(serving)
        time.sleep(0.3)
        exit_code = retire(old, serving, scheduler.pool, lag)
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
    scenarios = parse_scenarios(argv[2:], [(0.0, 0), (1.0, 0), (1.0, 3)])
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
