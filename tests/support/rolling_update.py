"""Pieces shared by the rolling-update tests of the webhook and the extender.

A ServerProcess is one replica (a real binary on 127.0.0.1:0, its port read
from its "serving listen=HOST:PORT" log line). An EndpointPool stands in for
the client and the Service in front of the replicas: keep-alive connections,
each (re)opened to an endpoint picked from the current list, as kube-proxy
balances connections. retire() is the endpoint change racing the SIGTERM.
"""

import http.client
import random
import re
import signal
import subprocess
import tempfile
import threading
import time


class ServerProcess:
    def __init__(self, kind, name, argv):
        self.name = f"{kind} {name}"
        self.log = tempfile.NamedTemporaryFile(prefix=f"{kind}-{name}-", suffix=".log", delete=False)
        self.process = subprocess.Popen(argv, stderr=self.log, stdout=subprocess.DEVNULL)
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
            raise RuntimeError(f"{self.name} did not start: " + open(self.log.name).read())

    def wait_ready(self, connect):
        """Until GET /readyz answers 200 on a connection from connect(port)."""
        deadline = time.monotonic() + 20
        while True:
            try:
                conn = connect(self.port)
                conn.request("GET", "/readyz")
                if conn.getresponse().status == 200:
                    return
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"{self.name} never became ready")
            time.sleep(0.05)

    def stop(self):
        self.process.send_signal(signal.SIGTERM)

    def wait(self):
        return self.process.wait(timeout=30)


class EndpointPool:
    """A pool of keep-alive connections to the replicas in the endpoint list."""

    def __init__(self, size, connect):
        self.connect = connect  # port -> an HTTP(S)Connection
        self.endpoints = []
        self.lock = threading.Lock()
        self.random = random.Random(1)
        self.pool = [None] * size

    def set_endpoints(self, servers):
        with self.lock:
            self.endpoints = [s.port for s in servers]

    def post(self, slot, path, body):
        """(status, answer bytes), or an error name when no answer came."""
        conn = self.pool[slot]
        self.pool[slot] = None
        if conn is None:
            with self.lock:
                port = self.random.choice(self.endpoints)
            conn = self.connect(port)
        try:
            conn.request("POST", path, body, {"Content-Type": "application/json"})
            response = conn.getresponse()
            answer = response.read()
        except (OSError, http.client.HTTPException) as e:
            conn.close()
            return type(e).__name__
        if response.status != 200 or response.will_close:
            # Connection: close (a draining replica): reconnect next time.
            conn.close()
        else:
            self.pool[slot] = conn
        return response.status, answer


def retire(victim, serving, pool, lag):
    """Takes victim out of the endpoints and stops it, the endpoint change
    arriving lag seconds after the SIGTERM (0: before it); its exit code."""
    serving.remove(victim)
    if lag == 0:
        pool.set_endpoints(serving)
        victim.stop()
    else:
        victim.stop()
        time.sleep(lag)
        pool.set_endpoints(serving)
    return victim.wait()


def parse_scenarios(args, default):
    """LAG[+DELAY] arguments as (lag seconds, delay seconds) pairs."""
    return [(float(a.split("+")[0]), int(a.split("+")[1]) if "+" in a else 0) for a in args] or default
