"""The driver's machinery: logging, the run directory, child processes (started in their own
process group, stopped on exit or signal), free ports, HTTP checks, CPU and TCP counters, and
the machine description that goes with every result. Used by bench/run; nothing here knows a
scenario."""

import os
import re
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

BENCH_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
LIB = os.path.join(BENCH_DIR, "lib")
REPO_ROOT = os.path.dirname(BENCH_DIR)


class BenchError(Exception):
    """A failed check or a server that misbehaved: the run stops, its directory is kept."""


def log(msg):
    sys.stderr.write("[bench %s] %s\n" % (time.strftime("%H:%M:%S"), msg))
    sys.stderr.flush()


def warn(msg):
    sys.stderr.write("[bench] WARNING: %s\n" % msg)
    sys.stderr.flush()


def die(msg):
    raise BenchError(msg)


def need_tool(name, package, env=None):
    """Path of NAME (or of $ENV when set); /usr/sbin is searched too (nginx, varnishd)."""
    if env and os.environ.get(env):
        return os.environ[env]
    path = os.environ.get("PATH", "") + ":/usr/sbin:/usr/local/sbin:/sbin"
    found = shutil.which(name, path=path)
    if not found:
        die("'%s' not found; install it with: sudo apt-get install -y %s" % (name, package))
    return found


def free_ports(n):
    """N distinct TCP ports of 127.0.0.1 that are free right now."""
    socks = []
    for _ in range(n):
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.bind(("127.0.0.1", 0))
        socks.append(s)
    ports = [s.getsockname()[1] for s in socks]
    for s in socks:
        s.close()
    return ports


def parse_duration(text, what):
    """'10' / '10s' / '2m' / '1h' -> seconds (int)."""
    m = re.fullmatch(r"([0-9]+)([smh]?)", str(text))
    if not m:
        die("%s must look like 10s, 2m or 1h (got '%s')" % (what, text))
    return int(m.group(1)) * {"": 1, "s": 1, "m": 60, "h": 3600}[m.group(2)]


def loadavg():
    with open("/proc/loadavg") as f:
        return " ".join(f.read().split()[:3])


# ---- child processes ---------------------------------------------------------------------------


class Run:
    """The run directory and every child process. Servers are started with spawn() in their own
    session (process group) so that stop() ends them together with whatever they forked (nginx
    workers) and nothing else; clients (wrk, Node.js load tools) are started with client().
    close() stops everything; the directory is removed unless --keep or the run failed."""

    def __init__(self, keep=False, pin=False):
        self.keep = keep
        self.pin = pin
        self.dir = tempfile.mkdtemp(prefix="edge-bench.")  # under $TMPDIR
        self.servers = []  # (name, Popen, logfile)
        self.clients = []
        self.failed = False

    def path(self, *parts):
        p = os.path.join(self.dir, *parts)
        os.makedirs(os.path.dirname(p), exist_ok=True)
        return p

    def subdir(self, *parts):
        p = os.path.join(self.dir, *parts)
        os.makedirs(p, exist_ok=True)
        return p

    def spawn(self, name, logfile, cmd, env=None):
        """Start a server; with --pin on CPU 0 (the load tools get CPU 1)."""
        if self.pin:
            cmd = ["taskset", "-c", "0"] + list(cmd)
        out = open(logfile, "wb")
        p = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
                             start_new_session=True, env=env)
        out.close()
        p.bench_name = name
        p.bench_log = logfile
        self.servers.append(p)
        return p

    def client(self, cmd, stdout, stderr=subprocess.STDOUT, env=None, pin=True):
        """Start a load tool in the background (CPU 1 with --pin); wait with wait_client."""
        if self.pin and pin:
            cmd = ["taskset", "-c", "1"] + list(cmd)
        p = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=stdout, stderr=stderr, env=env)
        self.clients.append(p)
        return p

    def wait_client(self, p):
        rc = p.wait()
        if p in self.clients:
            self.clients.remove(p)
        return rc

    def run_client(self, cmd, outfile, env=None, pin=True):
        with open(outfile, "wb") as out:
            return self.wait_client(self.client(cmd, out, env=env, pin=pin))

    def check_alive(self, p):
        if p.poll() is None:
            return
        tail = ""
        try:
            with open(p.bench_log, errors="replace") as f:
                tail = "".join(f.readlines()[-20:])
        except OSError:
            pass
        if tail:
            sys.stderr.write("[bench] --- last lines of %s ---\n%s" % (p.bench_log, tail))
        die("%s exited unexpectedly" % p.bench_name)

    def stop(self, p):
        try:
            os.killpg(p.pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
        try:
            p.wait(timeout=5)
        except subprocess.TimeoutExpired:
            warn("%s did not exit after SIGTERM; sending SIGKILL" % p.bench_name)
        try:  # also catches group members (nginx workers) that outlived their parent
            os.killpg(p.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        p.wait()

    def close(self):
        for p in self.clients:
            if p.poll() is None:
                p.terminate()
            p.wait()
        self.clients = []
        for p in reversed(self.servers):
            self.stop(p)
        self.servers = []
        if self.keep or self.failed:
            log("run directory kept: %s" % self.dir)
        else:
            shutil.rmtree(self.dir, ignore_errors=True)


def install_signal_handlers():
    """SIGTERM and SIGHUP end the run like Ctrl-C: through the cleanup in bench/run."""
    def handler(signum, frame):
        raise KeyboardInterrupt("signal %d" % signum)
    signal.signal(signal.SIGTERM, handler)
    signal.signal(signal.SIGHUP, handler)


# ---- HTTP --------------------------------------------------------------------------------------


class Response:
    def __init__(self, code, headers, body):
        self.code, self.headers, self.body = code, headers, body

    def header(self, name):
        return self.headers.get(name.lower(), "")


def fetch(url, headers=(), method="GET", data=None, compressed=False, timeout=5):
    """One request with curl; the status, the last response's headers (lower-case names) and the
    body bytes. Status 0 when curl failed."""
    cmd = ["curl", "-s", "-D", "-", "-o", "-", "--max-time", str(timeout)]
    if url.startswith("https:"):
        cmd.append("-k")  # the benchmarks' certificates are self-signed, made for the run
    if compressed:
        cmd.append("--compressed")
    for h in headers:
        cmd += ["-H", h]
    if method != "GET":
        cmd += ["-X", method]
    if data is not None:
        cmd += ["--data-binary", data]
    cmd.append(url)
    r = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    out = r.stdout
    code, hdrs = 0, {}
    # curl -D - writes every response head (interim and redirects too) before the body.
    while out.startswith(b"HTTP/"):
        end = out.find(b"\r\n\r\n")
        if end < 0:
            break
        head, out = out[:end].decode("latin1"), out[end + 4:]
        lines = head.split("\r\n")
        code, hdrs = int(lines[0].split()[1]), {}
        for line in lines[1:]:
            if ":" in line:
                k, v = line.split(":", 1)
                hdrs[k.strip().lower()] = v.strip()
    if r.returncode != 0:
        code = 0
    return Response(code, hdrs, out)


def wait_http(run, url, proc, timeout=10):
    """Poll URL until it answers any HTTP status."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        run.check_alive(proc)
        if fetch(url, timeout=1).code:
            return
        time.sleep(0.1)
    run.check_alive(proc)
    die("%s did not answer on %s within %ds (log: %s)" % (proc.bench_name, url, timeout, proc.bench_log))


def _differs(name, what, got, expected):
    return "%s: %s returned %d bytes that differ from the origin body (%d bytes); first bytes: %s" % (
        name, what, len(got), len(expected), got[:120].decode("latin1"))


def verify_body(name, url, expected):
    """200 with exactly the expected bytes."""
    r = fetch(url)
    if r.code != 200:
        die("%s: GET %s returned HTTP %d, expected 200" % (name, url, r.code))
    if r.body != expected:
        die(_differs(name, "GET " + url, r.body, expected))
    return r


def show_headers(r):
    return "\n".join("%s: %s" % kv for kv in r.headers.items())


def require_hit(name, what, r, header):
    if r.header(header).upper() != "HIT":
        die("%s: %s was not served from the cache (%s: '%s'); response headers:\n%s" % (
            name, what, header, r.header(header) or "<absent>", show_headers(r)))


def verify_hit(name, url, expected, header):
    """200, exactly the expected bytes, and HEADER says HIT."""
    require_hit(name, "GET " + url, verify_body(name, url, expected), header)


def verify_encoded_hit(name, url, expected, encoding, header):
    """GET with Accept-Encoding: ENCODING must be 200 with that Content-Encoding, a HIT, a
    Content-Length that matches the body, and decode (curl --compressed) to the expected bytes.
    Returns (bytes on the wire, Content-Length or 'chunked')."""
    what = "GET %s (Accept-Encoding: %s)" % (url, encoding)
    ae = ["Accept-Encoding: " + encoding]
    # A proxy may make an encoded form in the background (edge-proxy's stored Brotli form) and
    # answer with another encoding meanwhile: give it up to 5 s to settle.
    for _ in range(50):
        r = fetch(url, headers=ae)
        if r.code == 200 and r.header("content-encoding").lower() == encoding:
            break
        time.sleep(0.1)
    if r.code != 200:
        die("%s: %s returned HTTP %d, expected 200" % (name, what, r.code))
    if r.header("content-encoding").lower() != encoding:
        die("%s: %s answered with Content-Encoding '%s'; response headers:\n%s" % (
            name, what, r.header("content-encoding") or "<absent>", show_headers(r)))
    require_hit(name, what, r, header)
    length = r.header("content-length")
    if length and int(length) != len(r.body):
        die("%s: %s: Content-Length %s but %d body bytes" % (name, what, length, len(r.body)))
    decoded = fetch(url, headers=ae, compressed=True)
    if decoded.code != 200:
        die("%s: %s (decoded) returned HTTP %d" % (name, what, decoded.code))
    if decoded.body != expected:
        die(_differs(name, what + " decoded", decoded.body, expected))
    return len(r.body), length or "chunked"


def fetch_n(url, n, headers=()):
    """GET URL N times in a row, bodies discarded (fills a cache)."""
    for _ in range(n):
        if fetch(url, headers=headers, timeout=10).code == 0:
            die("GET %s failed" % url)


# ---- counters ----------------------------------------------------------------------------------

CLK_TCK = os.sysconf("SC_CLK_TCK")


def cpu_ticks(pgid):
    """User+system clock ticks of every live process in process group PGID (threads included)."""
    total = 0
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % entry) as f:
                rest = f.read().rsplit(") ", 1)[1].split()
        except (OSError, IndexError):
            continue
        # rest[0]=state [1]=ppid [2]=pgrp ... [11]=utime [12]=stime
        if int(rest[2]) == pgid:
            total += int(rest[11]) + int(rest[12])
    return total


class CpuClock:
    """Cores a process group used between start() and stop()."""

    def __init__(self, pgid):
        self.pgid = pgid
        self.t0 = time.time()
        self.c0 = cpu_ticks(pgid)

    def cores(self):
        return (cpu_ticks(self.pgid) - self.c0) / CLK_TCK / (time.time() - self.t0)


def tcp_retrans_segs():
    """TCP segments this host (network namespace) retransmitted so far (/proc/net/snmp).
    Over loopback each one is a stall of at least the minimum RTO or a tail-loss probe.
    System-wide: other programs' traffic counts too."""
    with open("/proc/net/snmp") as f:
        lines = [line.split() for line in f if line.startswith("Tcp:")]
    return int(lines[1][lines[0].index("RetransSegs")])


def rss_kb(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def tool_output(cmd):
    return tool_run(cmd)[1]


def tool_run(cmd):
    """(exit status, stdout and stderr) of a short command; 127 when it cannot start."""
    try:
        r = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        return r.returncode, r.stdout
    except OSError as e:
        return 127, str(e)


def machine_meta(tools):
    """Machine, tool versions and source revision; TOOLS maps a name to its binary."""
    git = ["git", "-C", REPO_ROOT]
    commit = tool_output(git + ["rev-parse", "--short", "HEAD"]).strip() or "unknown"
    if tool_output(git + ["status", "--porcelain", "--", "proxy", "lib", "filters", "config",
                          "CMakeLists.txt"]).strip():
        commit += " + uncommitted proxy/config changes"
    with open("/proc/cpuinfo") as f:
        cpu = next((line.split(":", 1)[1].strip() for line in f if line.startswith("model name")), "?")
    meta = {
        "repo_root": REPO_ROOT,
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "commit": commit,
        "nproc": str(os.cpu_count()),
        "cpu": cpu,
        "kernel": os.uname().release,
    }
    if tools.get("nginx"):
        meta["nginx_version"] = tool_output([tools["nginx"], "-v"]).strip().replace("nginx version: ", "")
    if tools.get("varnishd"):
        m = re.search(r"\((varnish-[0-9.]+)", tool_output([tools["varnishd"], "-V"]))
        meta["varnish_version"] = m.group(1) if m else "varnish"
    if tools.get("wrk"):  # wrk -v prints its version and usage, then exits 1
        meta["wrk_version"] = " ".join(tool_output([tools["wrk"], "-v"]).split("\n")[0].split()[:2])
    if tools.get("node"):
        meta["node_version"] = "node " + tool_output([tools["node"], "--version"]).strip()
    if tools.get("openssl"):
        meta["openssl_version"] = " ".join(tool_output([tools["openssl"], "version"]).split()[:2])
    if tools.get("redis-server"):
        m = re.search(r"v=([0-9.]+)", tool_output([tools["redis-server"], "--version"]))
        meta["redis_version"] = "redis-server " + (m.group(1) if m else "?")
    return meta


def command_line(argv, scenario):
    """The command that reproduces this run from the repository root."""
    parts = []
    for var in ("EDGE_PROXY_BIN", "EDGE_PROXY_BASELINE_BIN"):
        if os.environ.get(var):
            parts.append("%s=%s" % (var, shlex.quote(os.environ[var])))
    parts.append("bench/run " + scenario)
    parts += [shlex.quote(a) for a in argv]
    return " ".join(parts)
