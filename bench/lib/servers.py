"""The servers of the benchmarks and the documents they serve. Every start_* function writes its
config under the run directory, starts the server as a foreground child (Run.spawn), waits until
it answers and returns a Server. Nothing here reads or writes outside the run directory; the
system's nginx, Varnish and Redis services are not touched."""

import grp
import json
import os
import pwd
import random
import re
import shutil

from core import LIB, REPO_ROOT, die, fetch, tool_output, tool_run, wait_http

CACHE_CONTROL = "public, max-age=3600"


class Server:
    def __init__(self, name, port, proc, label, hit_header=None, url=None):
        self.name, self.port, self.proc, self.label = name, port, proc, label
        self.hit_header = hit_header
        self.url = url or "http://127.0.0.1:%d/" % port
        self.access_log = None  # cacheable nginx origin: one line per request

    def requests(self):
        """Requests answered so far by a cacheable origin (its access log)."""
        if not self.access_log or not os.path.exists(self.access_log):
            return 0
        with open(self.access_log, "rb") as f:
            return sum(1 for _ in f)

    def count(self, path=None):
        """Requests the slow origin received so far for PATH (all paths without one)."""
        r = fetch(self.url + "count" + ("?path=" + path if path else ""))
        text = r.body.decode().strip()
        if r.code != 200 or not text.isdigit():
            die("%s: GET /count returned '%s'" % (self.name, text))
        return int(text)


# ---- documents ---------------------------------------------------------------------------------


def make_body(size):
    """Deterministic JSON document of exactly SIZE bytes, without single quote, backslash or '$'
    (it may be embedded in an nginx 'return' string)."""
    if size < 64:
        die("body size must be at least 64 bytes")

    def render(items, pad):
        return json.dumps({"items": items, "count": len(items), "pad": pad}, separators=(",", ":"))
    items = []
    while True:
        n = len(items) + 1
        cand = items + [{"id": n, "name": "work-order-%05d" % n, "status": "open", "site": n % 17}]
        if len(render(cand, "")) > size:
            break
        items = cand
    doc = render(items, "x" * (size - len(render(items, ""))))
    assert len(doc) == size, (len(doc), size)
    return doc.encode()


def make_work_orders(size):
    """Deterministic JSON array of work orders of exactly SIZE bytes (as many whole records as
    fit, then spaces before the closing bracket). Fields vary from record to record, so it
    compresses like real API output. Fixed seed: the same bytes on every run."""
    rng = random.Random(20261121)
    sites = ["Rotterdam DC", "Lyon North", "Gdansk Port", "Porto Hub", "Leipzig West", "Milan East",
             "Vienna Yard", "Aarhus Quay", "Bilbao Plant", "Tampere Works"]
    kinds = ["corrective", "preventive", "inspection", "calibration", "emergency"]
    statuses = ["open", "assigned", "in_progress", "on_hold", "done", "cancelled"]
    people = ["A. Moreau", "B. Novak", "C. Jensen", "D. Silva", "E. Kowalski", "F. Rossi", "G. Weber",
              "H. Laine", "I. Garcia", "J. Berg", "K. Horvat", "L. Dubois"]
    words = ["pump", "seal", "leak", "bearing", "vibration", "replace", "check", "filter", "motor",
             "belt", "sensor", "valve", "pressure", "noise", "overheating", "conveyor", "gearbox",
             "lubricate", "align", "tighten", "worn", "cracked", "calibrate", "panel", "cable",
             "after", "night", "shift", "reported", "by", "operator", "near", "line", "bay"]
    parts = ["BRG-6204", "SEAL-35x52", "FLT-HEPA-24", "BELT-A42", "VLV-DN50", "SNS-PT100",
             "MTR-4KW", "GBX-OIL-5L", "CBL-3G2.5", "PNL-FUSE-16A"]

    def order(n):
        day = 1 + (n * 7) % 28
        hour = rng.randrange(6, 22)
        return {
            "id": 100000 + n,
            "number": "WO-2026-%06d" % (4000 + n * 3),
            "type": rng.choice(kinds),
            "status": rng.choice(statuses),
            "priority": rng.randrange(1, 5),
            "site": rng.choice(sites),
            "asset": {"id": "AST-%05d" % rng.randrange(1, 4000), "line": rng.randrange(1, 12)},
            "assignee": rng.choice(people),
            "created_at": "2026-10-%02dT%02d:%02d:00Z" % (day, hour, rng.randrange(60)),
            "due_at": "2026-11-%02dT%02d:00:00Z" % (day, hour),
            "estimate_h": round(rng.uniform(0.5, 16), 1),
            "description": " ".join(rng.choice(words) for _ in range(rng.randrange(6, 16))),
            "parts": [{"sku": rng.choice(parts), "qty": rng.randrange(1, 6)}
                      for _ in range(rng.randrange(0, 4))],
        }
    items, doc = [], "[]"
    while True:
        items.append(order(len(items) + 1))
        text = json.dumps(items, separators=(",", ":"))
        if len(text) > size:
            break
        doc = text
    doc = doc[:-1] + " " * (size - len(doc)) + "]"
    assert len(doc) == size, (len(doc), size)
    return doc.encode()


def details(orders, n):
    """The first N work orders of the array as compact documents of their own."""
    return [json.dumps(o, separators=(",", ":")).encode() for o in json.loads(orders)[:n]]


def select(value, paths):
    """VALUE cut to the dotted PATHS, as the proxy's ?fields= should cut it."""
    out = {}
    for path in paths:
        head, _, rest = path.partition(".")
        if head not in value:
            continue
        if rest:
            if isinstance(value[head], dict):
                out.setdefault(head, {}).update(select(value[head], [rest]))
        else:
            out[head] = value[head]
    return out


def projection_problem(orders, projected, fields):
    """None when PROJECTED is the array ORDERS cut to FIELDS (every element with exactly the
    selected members and the original values), else what differs."""
    orders = json.loads(orders)
    try:
        got = json.loads(projected)
    except ValueError as e:
        return "projected body is not JSON: %s" % e
    if not isinstance(got, list) or len(got) != len(orders):
        return "expected an array of %d elements, got %s" % (
            len(orders), "%d elements" % len(got) if isinstance(got, list) else type(got).__name__)
    paths = fields.split(",")
    for i, (src, have) in enumerate(zip(orders, got)):
        want = select(src, paths)
        if have != want:
            return "element %d: expected %s, got %s" % (i, json.dumps(want)[:200], json.dumps(have)[:200])
    return None


def write(path, data):
    with open(path, "wb" if isinstance(data, bytes) else "w") as f:
        f.write(data)
    return path


# ---- nginx -------------------------------------------------------------------------------------


def nginx_label(tools):
    m = re.search(r"nginx/(\S+)", tool_output([tools["nginx"], "-v"]))
    return "nginx " + (m.group(1) if m else "?")


def _nginx_conf(run, name, workers, http_body):
    """A complete nginx config: pid, logs and temp paths in the run directory and, started as
    root, workers running as the invoking user so that they can read it."""
    d = run.subdir(name)
    run.subdir(name, "tmp")
    user = ""
    if os.geteuid() == 0:
        user = "user %s %s;\n" % (pwd.getpwuid(os.getuid()).pw_name, grp.getgrgid(os.getgid()).gr_name)
    return """%sworker_processes %s;
pid %s/nginx.pid;
error_log %s/error.log warn;
events { worker_connections 8192; }
http {
  access_log off;
  client_body_temp_path %s/tmp/client_body;
  proxy_temp_path %s/tmp/proxy;
  fastcgi_temp_path %s/tmp/fastcgi;
  uwsgi_temp_path %s/tmp/uwsgi;
  scgi_temp_path %s/tmp/scgi;
  keepalive_timeout 65s;
  keepalive_requests 1000000;
%s
}
""" % (user, workers, d, d, d, d, d, d, d, http_body)


def _run_nginx(run, tools, name, port, conf_text, label, url=None):
    d = os.path.join(run.dir, name)
    conf = write(os.path.join(d, "nginx.conf"), conf_text)
    base = [tools["nginx"], "-p", d, "-c", conf, "-e", d + "/error.log"]
    rc, test = tool_run(base + ["-t", "-q"])
    if rc != 0:
        die("%s: nginx rejected %s: %s" % (name, conf, test))
    proc = run.spawn(name, d + "/stderr.log", base + ["-g", "daemon off;"])
    srv = Server(name, port, proc, label, url=url)
    wait_http(run, srv.url, proc, 10)
    return srv


def _origin_location(match, body_path, www, extra=""):
    """One location answering with the body: 'return 200' up to 3 KB (no file I/O), else a copy
    of the file in WWW (nginx caps one config token at 4 KB)."""
    with open(body_path, "rb") as f:
        body = f.read()
    if len(body) <= 3072:
        return "location %s { default_type application/json; %sreturn 200 '%s'; }" % (
            match, extra, body.decode())
    name = os.path.basename(body_path)
    shutil.copy(body_path, os.path.join(www, name))
    os.chmod(www, 0o755)
    os.chmod(os.path.join(www, name), 0o644)
    return "location %s { default_type application/json; %sroot %s; try_files /%s =404; }" % (
        match, extra, www, name)


def start_origin(run, tools, name, port, body_path):
    """nginx, one worker, answering every request with the body."""
    www = run.subdir(name, "www")
    loc = _origin_location("/", body_path, www)
    conf = _nginx_conf(run, name, 1, "  server {\n    listen 127.0.0.1:%d backlog=4096;\n    %s\n  }" % (port, loc))
    return _run_nginx(run, tools, name, port, conf, "origin (nginx)")


def start_cacheable_origin(run, tools, name, port, body_paths, cc=CACHE_CONTROL):
    """The same origin, each body at /<its file name> (exact match, any other path 404) with a
    Cache-Control header; every request logged, one line each, so that requests() counts them."""
    d = os.path.join(run.dir, name)
    www = run.subdir(name, "www")
    locs = "".join("    %s\n" % _origin_location("= /" + os.path.basename(b), b, www,
                                                  'add_header Cache-Control "%s" always; ' % cc)
                   for b in body_paths)
    conf = _nginx_conf(run, name, 1, """  log_format counted '$request_uri';
  server {
    listen 127.0.0.1:%d backlog=4096;
    access_log %s/access.log counted;
%s    location / { return 404; }
  }""" % (port, d, locs))
    srv = _run_nginx(run, tools, name, port, conf, "origin (nginx)")
    srv.access_log = d + "/access.log"
    return srv


def _proxy_http(name, port, origin_port, http_extra="", location_extra="", tls="", connection='""'):
    """TLS: server-level ssl_* directives; the listener then speaks TLS. CONNECTION: the value of
    the Connection header sent upstream ("" keeps upstream connections alive; "upgrade" for
    WebSocket tunnels)."""
    return """%s
  upstream origin {
    server 127.0.0.1:%d;
    keepalive 64;
    keepalive_requests 1000000;
  }
  server {
    listen 127.0.0.1:%d%s backlog=4096;
%s    location / {
      proxy_pass http://origin;
      proxy_http_version 1.1;
      proxy_set_header Connection %s;
%s
    }
  }""" % (http_extra, origin_port, port, " ssl" if tls else "", tls, connection, location_extra)


def _scheme_url(port, tls):
    return "%s://127.0.0.1:%d/" % ("https" if tls else "http", port)


def start_nginx_proxy(run, tools, name, port, origin_port, workers, tls="", location_extra="", connection='""'):
    """nginx as a reverse proxy with an upstream keep-alive pool; no cache, no access log. TLS,
    LOCATION_EXTRA and CONNECTION as in _proxy_http (the WebSocket proxy sets Upgrade and
    Connection: upgrade)."""
    conf = _nginx_conf(run, name, workers, _proxy_http(name, port, origin_port, "", location_extra, tls, connection))
    return _run_nginx(run, tools, name, port, conf, nginx_label(tools), url=_scheme_url(port, tls))


def start_nginx_cache(run, tools, name, port, origin_port, workers, http_extra="", tls=""):
    """The same proxy with proxy_cache in files under the run directory (the hot ones stay in
    the page cache) and proxy_cache_lock (one request per key to the origin, the others poll
    the lock every 500 ms, up to 5 s); X-Cache-Status shows HIT/MISS/..."""
    cache = run.subdir(name, "cache")
    extra = ("  proxy_cache_path %s levels=1:2 keys_zone=bench:16m max_size=256m inactive=1h "
             "use_temp_path=off;\n%s" % (cache, http_extra))
    loc = """      proxy_cache bench;
      proxy_cache_lock on;
      proxy_cache_lock_timeout 5s;
      add_header X-Cache-Status $upstream_cache_status always;"""
    conf = _nginx_conf(run, name, workers, _proxy_http(name, port, origin_port, extra, loc, tls))
    srv = _run_nginx(run, tools, name, port, conf, nginx_label(tools) + " cache", url=_scheme_url(port, tls))
    srv.hit_header = "x-cache-status"
    return srv


def start_nginx_static(run, tools, name, port, www, workers):
    """nginx serving the files under WWW; access log off."""
    conf = _nginx_conf(run, name, workers, """  server {
    listen 127.0.0.1:%d backlog=4096;
    location / { default_type application/json; root %s; }
  }""" % (port, www))
    return _run_nginx(run, tools, name, port, conf, nginx_label(tools))


# ---- Varnish -----------------------------------------------------------------------------------


def varnish_label(tools):
    m = re.search(r"varnish-([0-9.]+)", tool_output([tools["varnishd"], "-V"]))
    return "varnish " + (m.group(1) if m else "?")


def start_varnish(run, tools, name, port, origin_port, beresp="", recv=""):
    """varnishd in the foreground with a VCL that names the origin as backend and marks hits in
    X-Cache; BERESP and RECV (optional) become the bodies of vcl_backend_response and vcl_recv.
    Storage malloc,256m; thread pools and every other parameter at their defaults. Started as
    root, varnishd drops to its own users: the run directory is made traversable for them."""
    d = run.subdir(name)
    subs = ""
    if recv:
        subs += "\nsub vcl_recv {\n%s\n}\n" % recv
    if beresp:
        subs += "\nsub vcl_backend_response {\n%s\n}\n" % beresp
    vcl = write(d + "/default.vcl", """vcl 4.1;

backend origin {
  .host = "127.0.0.1";
  .port = "%d";
}
%s
sub vcl_deliver {
  if (obj.hits > 0) {
    set resp.http.X-Cache = "HIT";
  } else {
    set resp.http.X-Cache = "MISS";
  }
}
""" % (origin_port, subs))
    if os.geteuid() == 0:
        os.chmod(run.dir, 0o711)
        os.chmod(d, 0o755)
        os.chmod(vcl, 0o644)
    cmd = [tools["varnishd"], "-F", "-a", "127.0.0.1:%d" % port, "-f", vcl, "-n", d + "/work",
           "-s", "malloc,256m"]
    write(d + "/command.txt", " ".join(cmd))
    proc = run.spawn(name, d + "/stderr.log", cmd)
    srv = Server(name, port, proc, varnish_label(tools), "x-cache")
    wait_http(run, srv.url, proc, 30)
    return srv


# ---- Node.js, Redis ----------------------------------------------------------------------------


def start_slow_origin(run, tools, name, port, delay_ms, body_path, cc=CACHE_CONTROL):
    """lib/slow_origin.js: every GET answered after DELAY_MS with the body, requests counted per
    path (GET /count?path=P)."""
    d = run.subdir(name)
    proc = run.spawn(name, d + "/stderr.log", [tools["node"], os.path.join(LIB, "slow_origin.js"),
                                               str(port), str(delay_ms), body_path, cc])
    srv = Server(name, port, proc, "origin (Node.js, %d ms)" % delay_ms)
    wait_http(run, srv.url + "count", proc, 10)
    return srv


def start_ws_origin(run, tools, name, port):
    """lib/ws_origin.mjs: a WebSocket echo server (Debian's node-ws), every message sent back as
    it came; plain GETs get 200 (the readiness check)."""
    d = run.subdir(name)
    proc = run.spawn(name, d + "/stderr.log", [tools["node"], os.path.join(LIB, "ws_origin.mjs"), str(port)])
    srv = Server(name, port, proc, "origin (Node.js node-ws echo)")
    wait_http(run, srv.url, proc, 10)
    return srv


def start_demo_origin(run, tools, name, port):
    """The demo application (demo/origin.mjs)."""
    proc = run.spawn(name, run.path(name + ".log"), [
        tools["node"], os.path.join(REPO_ROOT, "demo", "origin.mjs"), "--host", "127.0.0.1",
        "--port", str(port)])
    srv = Server(name, port, proc, "demo origin")
    wait_http(run, srv.url + "health", proc)
    return srv


def start_redis(run, tools, name, port):
    proc = run.spawn(name, run.path(name + ".log"), [
        tools["redis-server"], "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"])
    return Server(name, port, proc, "redis-server")


# ---- edge-proxy --------------------------------------------------------------------------------


def edge_version(binary):
    return (tool_output([binary, "--version"]).split("\n") or [""])[0] or "edge-proxy (no --version)"


def edge_yaml(port, origin_port, workers, cache_memory=None):
    """One upstream, one route class, one catch-all route: pass-through (cache: false), or with
    CACHE_MEMORY a cache and a caching class with ttl 1h (used only when the origin gives no
    freshness of its own)."""
    cache = "cache: { memory: %s }" % cache_memory if cache_memory else ""
    cls, cls_name = ("cached: { ttl: 1h }", "cached") if cache_memory else ("pass: { cache: false }", "pass")
    return """listen: ["127.0.0.1:%d"]
workers: %s
%s
upstreams:
  origin:
    servers: ["127.0.0.1:%d"]
    pool: { max_idle: 128 }
route_classes:
  %s
routes:
  - match: { path_prefix: / }
    upstream: origin
    class: %s
""" % (port, workers, cache, origin_port, cls, cls_name)


def start_edge(run, binary, name, port, yaml=None, argv=None, label="edge-proxy", health="",
               env=None, url=None):
    """edge-proxy from BINARY with the YAML config (checked with --check-config first) or, for
    the quick mode, with ARGV. URL: its base URL when not http://127.0.0.1:PORT/ (a TLS
    listener)."""
    d = run.subdir(name)
    if yaml is not None:
        conf = write(d + "/edge.yaml", yaml)
        rc, out = tool_run([binary, "--check-config", conf])
        write(d + "/check-config.log", out)
        if rc != 0:
            die("edge-proxy rejected %s: %s" % (conf, out))
        argv = ["--config", conf]
    cmd = [binary] + list(argv)
    write(d + "/command.txt", " ".join(cmd))
    proc = run.spawn(name, d + "/stderr.log", cmd, env=env)
    srv = Server(name, port, proc, label, "x-cache", url=url)
    wait_http(run, srv.url + health, proc, 10)
    return srv
