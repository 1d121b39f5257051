"""Real servers for remote-source tests, on 127.0.0.1 only: nginx serving a directory (its access
log records the bytes of every response), moto's S3 server, and a fault-injecting HTTP proxy.
Each fixture starts its server and stops it at teardown."""
import http.client
import http.server
import json
import os
import pathlib
import signal
import socket
import subprocess
import sys
import threading
import time

import numpy as np
import pytest
from safetensors.numpy import load_file, save_file

from conftest import daemons_serving, process_command_lines, tensor_path, wait_until

LOOPBACK = "127.0.0.1"


def free_port():
    with socket.socket() as probe:
        probe.bind((LOOPBACK, 0))
        return probe.getsockname()[1]


def start_on_free_port(start, what, attempts=5):
    """Runs `start(port)` (which returns the server's process) on a free port until the server
    listens there. Another process (a test running in parallel) may take the port between the
    probe and the server's bind: the server then exits, and another port is tried."""
    for _ in range(attempts):
        port = free_port()
        process = start(port)
        if wait_for_port(port, process, what):
            return port, process
    raise AssertionError(f"{what} exited with {process.returncode} on each of {attempts} free ports")


def wait_for_port(port, process, what, timeout=30):
    """Waits until `process` listens on `port`: True once it does, False if it exited first (a
    port taken meanwhile); stops it and fails if it neither listens nor exits in time."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            return False
        try:
            with socket.create_connection((LOOPBACK, port), timeout=0.2):
                # Someone listens; it is this server unless it exits for want of the port.
                time.sleep(0.1)
                if process.poll() is None:
                    return True
        except OSError:
            time.sleep(0.05)
    stop(process)
    raise AssertionError(f"{what} did not listen on port {port} within {timeout} s")


def stop(process):
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


class Nginx:
    """nginx (Debian's nginx-light) serving `root`, which supports Range and ETag; the access
    log holds one JSON object per request, with the bytes of the body sent. `http_config` adds
    to the http block; `locations` (the server's, by default a few redirects and a refusal)
    may use `{port}`."""

    DEFAULT_LOCATIONS = """
        location /redirect-elsewhere/ {
            rewrite ^/redirect-elsewhere/(.*)$ http://localhost:{port}/$1 redirect;
        }
        location /forbidden/ {
            return 403;
        }
        location /moved/ {
            rewrite ^/moved/(.*)$ /$1 redirect;
        }"""

    def __init__(self, workdir, http_config="", locations=DEFAULT_LOCATIONS):
        self.workdir = pathlib.Path(workdir)
        self.root = self.workdir / "www"
        self.root.mkdir(parents=True, exist_ok=True)
        self.log = self.workdir / "access.log"
        (self.workdir / "temp").mkdir()
        self.http_config, self.locations = http_config, locations
        self.port, self.process = start_on_free_port(self._start, "nginx")

    def _start(self, port):
        temp = self.workdir / "temp"
        http_config, locations = self.http_config, self.locations.replace("{port}", str(port))
        config = self.workdir / "nginx.conf"
        config.write_text(f"""
user root;
worker_processes 2;
daemon off;
pid {self.workdir}/nginx.pid;
error_log {self.workdir}/error.log;
events {{ worker_connections 1024; }}
http {{
    log_format requests escape=json '{{"method":"$request_method","uri":"$uri","status":$status,'
        '"bytes":$body_bytes_sent,"range":"$http_range","authorization":"$http_authorization","host":"$host",'
        '"if_match":"$http_if_match"}}';
    access_log {self.log} requests;
    client_body_temp_path {temp}/body;
    proxy_temp_path {temp}/proxy;
    fastcgi_temp_path {temp}/fastcgi;
    uwsgi_temp_path {temp}/uwsgi;
    scgi_temp_path {temp}/scgi;
    sendfile on;
    keepalive_requests 1000000;
{http_config}
    server {{
        listen {LOOPBACK}:{port};
        root {self.root};
{locations}
    }}
}}
""")
        return subprocess.Popen(
            ["nginx", "-p", str(self.workdir), "-e", str(self.workdir / "error.log"), "-c", str(config)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def url(self, name=""):
        return f"http://{LOOPBACK}:{self.port}/{name}"

    def requests(self):
        """Every request logged so far, oldest first (see `logged_requests`)."""
        return logged_requests(self.log)

    def clear_log(self):
        self.log.write_text("")
        # nginx keeps writing to the same file at its (now stale) offset; reopen it.
        self.process.send_signal(signal.SIGUSR1)
        time.sleep(0.2)

    def stop(self):
        stop(self.process)


def logged_requests(log):
    """The requests in the access log `log` (one JSON object a line), oldest first. A server writes
    a line once it has sent the whole response, which can be a moment after the client has the
    bytes: the log is read until it stops changing."""
    def lines():
        if not log.exists():
            return []
        return [line for line in log.read_text().splitlines() if line.strip()]

    current, previous = lines(), None
    while current != previous:
        time.sleep(0.2)
        current, previous = lines(), current
    return [json.loads(line) for line in current]


class Moto:
    """moto's S3 server; `client()` is a boto3 client for it. With `request_log` (a path), it
    keeps an access log like the nginx fixture's (see moto_logged.py)."""

    def __init__(self, environment=None, request_log=None):
        self.log = pathlib.Path(request_log) if request_log else None
        env = dict(os.environ, **(environment or {}))

        def start(port):
            command = ["moto_server", "-H", LOOPBACK, "-p", str(port)]
            if self.log:
                command = [sys.executable, str(pathlib.Path(__file__).with_name("moto_logged.py")), LOOPBACK, str(port), str(self.log)]
            return subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)

        self.port, self.process = start_on_free_port(start, "moto_server")
        self.endpoint = f"http://{LOOPBACK}:{self.port}"

    def client(self, key_id="test", secret="test", service="s3"):
        import boto3
        return boto3.client(service, endpoint_url=self.endpoint, region_name="us-east-1",
                            aws_access_key_id=key_id, aws_secret_access_key=secret)

    def requests(self):
        """Every request logged so far, oldest first (with `request_log` only)."""
        return logged_requests(self.log)

    def clear_log(self):
        logged_requests(self.log)  # lines of responses still being sent land before, not after
        self.log.write_text("")

    def environment(self, key_id="test", secret="test"):
        """Variables that point the AWS tools (and tensorfs) at this server."""
        return {"AWS_ENDPOINT_URL": self.endpoint, "AWS_ACCESS_KEY_ID": key_id,
                "AWS_SECRET_ACCESS_KEY": secret, "AWS_REGION": "us-east-1"}

    def stop(self):
        stop(self.process)


# Seconds for which a daemon fails a range that just failed again at once (so that the kernel's
# own retry of a read does not wait a timeout out twice); after them, a read tries anew.
FAILURE_MEMORY = 2


class FaultProxy:
    """An HTTP proxy in front of an upstream server that misbehaves on demand: it answers a
    status (503 SlowDown, say) to the next N requests, drops the connection in the middle of a
    body, stalls, or trickles bodies a byte a second; it can hide the validators (ETag,
    Last-Modified) of every response. It forwards the request's headers and logs every request
    it saw."""

    def __init__(self, upstream_port):
        self.upstream_port = upstream_port
        self.lock = threading.Lock()
        self.failures = []       # statuses to answer, one per request
        self.drops = []          # body bytes to send before dropping, one per request
        self.stalls = []         # (bytes before the stall, seconds), one per request
        self.trickle_from = None  # bodies of ranges starting at or after this offset trickle
        self.hide_validators = False
        self.seen = []
        proxy = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def do_GET(self):
                proxy.handle(self)

        self.server = http.server.ThreadingHTTPServer((LOOPBACK, 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def url(self, name=""):
        return f"http://{LOOPBACK}:{self.port}/{name}"

    def fail_next(self, count, status=503):
        with self.lock:
            self.failures += [status] * count

    def drop_next(self, count, after_bytes):
        with self.lock:
            self.drops += [after_bytes] * count

    def stall_next(self, count, seconds, after_bytes=0):
        with self.lock:
            self.stalls += [(after_bytes, seconds)] * count

    def trickle(self, from_offset=0):
        """From now on, bodies of requests whose range starts at `from_offset` or later come
        a byte a second (a server that is never silent long enough to count as stalled);
        None ends that."""
        with self.lock:
            self.trickle_from = from_offset

    def data_requests(self):
        """The ranges asked for so far (the requests that had one), oldest first."""
        with self.lock:
            return [request["range"] for request in self.seen if request["range"]]

    def handle(self, request):
        with self.lock:
            self.seen.append({"path": request.path, "range": request.headers.get("Range"),
                              "if_match": request.headers.get("If-Match")})
            failure = self.failures.pop(0) if self.failures else None
            drop = self.drops.pop(0) if self.drops and failure is None else None
            stall = self.stalls.pop(0) if self.stalls and failure is None and drop is None else None
            requested = request.headers.get("Range")
            start = int(requested.split("=")[1].split("-")[0]) if requested else 0
            trickles = self.trickle_from is not None and start >= self.trickle_from
            hide_validators = self.hide_validators
        if failure is not None:
            body = b"<Error><Code>SlowDown</Code><Message>Please reduce your request rate.</Message></Error>"
            request.send_response(failure)
            request.send_header("Content-Length", str(len(body)))
            request.end_headers()
            request.wfile.write(body)
            return
        upstream = http.client.HTTPConnection(LOOPBACK, self.upstream_port, timeout=30)
        headers = {name: value for name, value in request.headers.items() if name.lower() not in ("host", "connection")}
        upstream.request("GET", request.path, headers=headers)
        response = upstream.getresponse()
        body = response.read()
        upstream.close()
        request.send_response(response.status)
        hidden = ("connection", "transfer-encoding", "server", "date") + (("etag", "last-modified") if hide_validators else ())
        for name, value in response.getheaders():
            if name.lower() not in hidden:
                request.send_header(name, value)
        request.end_headers()
        if trickles:
            try:
                for offset in range(len(body)):
                    request.wfile.write(body[offset:offset + 1])
                    request.wfile.flush()
                    time.sleep(1)
            except OSError:
                pass
            return
        if drop is not None:
            request.wfile.write(body[:drop])
            request.wfile.flush()
            request.connection.shutdown(socket.SHUT_RDWR)
            request.close_connection = True
            return
        if stall is not None:
            request.wfile.write(body[:stall[0]])
            request.wfile.flush()
            time.sleep(stall[1])
            request.wfile.write(body[stall[0]:])
            return
        request.wfile.write(body)

    def stop(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture(autouse=True)
def no_proxies(monkeypatch):
    """Loopback requests must not go through a proxy from the environment."""
    for name in ("http_proxy", "https_proxy", "HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "all_proxy"):
        monkeypatch.delenv(name, raising=False)


AWS_VARIABLES = ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE", "AWS_DEFAULT_PROFILE",
                 "AWS_REGION", "AWS_DEFAULT_REGION", "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_S3",
                 "AWS_SHARED_CREDENTIALS_FILE", "AWS_CONFIG_FILE")


@pytest.fixture
def clean_aws_environment(monkeypatch, tmp_path):
    """No AWS setting of the machine reaches tensorfs: every AWS variable is cleared, and HOME
    is an empty directory so that no profile of the machine's user leaks in."""
    for name in AWS_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))


def use_moto(monkeypatch, server, key_id="test", secret="test"):
    """Points the AWS tools and tensorfs at the Moto `server`, with these credentials."""
    for name, value in server.environment(key_id, secret).items():
        monkeypatch.setenv(name, value)


@pytest.fixture(scope="session")
def nginx(tmp_path_factory):
    server = Nginx(tmp_path_factory.mktemp("nginx"))
    yield server
    server.stop()


@pytest.fixture(scope="session")
def moto():
    server = Moto()
    yield server
    server.stop()


@pytest.fixture
def fault_proxy(nginx):
    proxy = FaultProxy(nginx.port)
    yield proxy
    proxy.stop()


def publish_random_model(nginx, path, prefix, count, size, step, seed):
    """Publishes at `path` (below nginx's root) a model of `count` U8 tensors `PREFIX.N` of
    `size + N * step` random bytes; returns (path, {name: array})."""
    rng = np.random.default_rng(seed)
    tensors = {f"{prefix}.{n}": rng.integers(0, 255, size=size + n * step, dtype=np.uint8) for n in range(count)}
    target = nginx.root / path
    target.parent.mkdir(parents=True, exist_ok=True)
    save_file(tensors, str(target))
    return path, tensors


def shard_model(source, directory, shard_count):
    """Splits the safetensors file `source` into `shard_count` shards with a Hugging Face index
    in `directory`; returns the index's path."""
    directory = pathlib.Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    tensors = load_file(str(source))
    names = sorted(tensors)
    weight_map = {}
    total = 0
    for number in range(shard_count):
        file_name = f"model-{number + 1:05d}-of-{shard_count:05d}.safetensors"
        part = {name: tensors[name] for name in names[number::shard_count]}
        save_file(part, str(directory / file_name), metadata={"format": "pt"})
        for name, array in part.items():
            weight_map[name] = file_name
            total += array.nbytes
    index = directory / "model.safetensors.index.json"
    index.write_text(json.dumps({"metadata": {"total_size": total}, "weight_map": weight_map}))
    return index


def daemon_command_lines():
    """The command lines of running mount daemons."""
    return [b" ".join(words).decode(errors="replace") for _, words in process_command_lines()
            if any(b"tensorfs" in word for word in words[:1]) and b"--launcher-descriptor" in words]


def replace_published(path, tensors):
    """Writes a new version of the model at `path` (served by nginx), its modification time
    moved on so that its ETag changes even within the same second."""
    staged = path.with_name(path.name + ".new")
    save_file({name: np.ascontiguousarray(array) for name, array in tensors.items()}, str(staged))
    os.replace(staged, path)
    stat = path.stat()
    os.utime(path, (stat.st_atime + 100, stat.st_mtime + 100))


def read_all(mountpoint, tensors):
    """Reads every tensor of `tensors` ({name: array}) through the mount and compares; a read
    that hangs fails the test instead of holding it."""
    for name, array in tensors.items():
        reader = subprocess.Popen(["cat", str(tensor_path(mountpoint, name))], stdout=subprocess.PIPE)
        try:
            data, _ = reader.communicate(timeout=60)
        except subprocess.TimeoutExpired:
            pytest.fail(f"reading {name} hangs")
        assert data == array.tobytes(), name


def fill_cache(mounts, url, options, tensors):
    """Mounts `url` with `options` (a --cache-dir among them), reads every tensor, unmounts, and
    waits for the daemon to finish its cache writes and exit."""
    mountpoint = mounts.mount(url, options=options)
    read_all(mountpoint, tensors)
    mounts.unmount(mountpoint)
    wait_until(lambda: not daemons_serving(mountpoint), "the daemon has exited", limit=30)
