#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""fake_influx_v2.py - a local stand-in for InfluxDB's v2 write endpoint that checks the exact
request shape kompos-hub sends (the Debian InfluxDB 1.6 has no /api/v2/write).

It listens on 127.0.0.1 (port 0 = pick a free one; the port is written to --port-file), and
exits by itself after --timeout seconds or on SIGTERM/SIGINT. Every request is checked:

  POST /api/v2/write?org=ORG&bucket=BUCKET&precision=ns   (exactly these three parameters)
  Authorization: Token TOKEN                              (exactly)
  Content-Type: text/plain; charset=utf-8
  Content-Encoding: gzip                                  (with --gzip; the body must inflate)
  body: InfluxDB line protocol, every line with measurement, tags, fields and an integer
        nanosecond timestamp, escaped per the spec.

A request that fails a check is answered 400 with the reason and recorded as a failure.
With --faults the answers are, in order of arrival: 1st request 503, 2nd 429 with
"Retry-After: 1"; after that a body of more than --max-lines lines gets 413 (the client must
split the batch); everything else 204. Only lines of 2xx answers are counted as accepted.

The JSON report (--report, rewritten after every request and at exit) holds: requests,
statuses, lines_accepted, by_measurement, field_keys, drum_unique, duplicates, failures,
failure_count, max_lines_in_request, seen_503, seen_429, seen_413, gap_after_429_s.
Standard library only.
"""
import argparse
import gzip
import json
import os
import re
import signal
import sys
import threading
import time
import zlib
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

FLOAT_RE = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$")
INT_RE = re.compile(r"^[+-]?\d+i$")
UINT_RE = re.compile(r"^\d+u$")
BOOLS = {"t", "T", "true", "True", "TRUE", "f", "F", "false", "False", "FALSE"}
TS_RE = re.compile(r"^-?\d+$")


class LineError(Exception):
    pass


def _take(line, i, stops, escapable):
    """Read an escaped token from line[i:] up to an unescaped char in stops.
    Returns (unescaped text, index of the stop char or len(line))."""
    out = []
    n = len(line)
    while i < n:
        c = line[i]
        if c == "\\" and i + 1 < n and line[i + 1] in escapable:
            out.append(line[i + 1])
            i += 2
            continue
        if c in stops:
            break
        if c == "\n" or c == "\r":
            raise LineError("raw newline inside a token")
        out.append(c)
        i += 1
    return "".join(out), i


def _field_value(line, i):
    """Parse a field value at line[i:]; returns (python value, kind, next index)."""
    n = len(line)
    if i < n and line[i] == '"':
        out = []
        i += 1
        while i < n:
            c = line[i]
            if c == "\\" and i + 1 < n and line[i + 1] in '"\\':
                out.append(line[i + 1])
                i += 2
                continue
            if c == '"':
                return "".join(out), "string", i + 1
            out.append(c)
            i += 1
        raise LineError("unterminated string field")
    j = i
    while j < n and line[j] not in ", ":
        j += 1
    raw = line[i:j]
    if INT_RE.match(raw):
        return int(raw[:-1]), "integer", j
    if UINT_RE.match(raw):
        return int(raw[:-1]), "unsigned", j
    if raw in BOOLS:
        return raw[0] in "tT", "boolean", j
    if FLOAT_RE.match(raw):
        return float(raw), "float", j
    raise LineError("bad field value %r" % raw)


def parse_line(line):
    """Parse one line of line protocol strictly. Returns (measurement, tags, fields, ts)."""
    if not line or line[0] in " #,":
        raise LineError("line starts with %r" % (line[:1] or "nothing"))
    meas, i = _take(line, 0, ", ", ", ")
    if not meas:
        raise LineError("empty measurement")
    tags = {}
    while i < len(line) and line[i] == ",":
        key, i = _take(line, i + 1, ",= ", ",= ")
        if i >= len(line) or line[i] != "=":
            raise LineError("tag %r without '='" % key)
        val, i = _take(line, i + 1, ",= ", ",= ")
        if i < len(line) and line[i] == "=":
            raise LineError("unescaped '=' in tag value of %r" % key)
        if not key or not val:
            raise LineError("empty tag key or value")
        if key in tags:
            raise LineError("duplicate tag %r" % key)
        tags[key] = val
    if i >= len(line) or line[i] != " ":
        raise LineError("no space before the fields")
    fields = {}
    i += 1
    while True:
        key, i = _take(line, i, ",= ", ",= ")
        if not key:
            raise LineError("empty field key")
        if i >= len(line) or line[i] != "=":
            raise LineError("field %r without '='" % key)
        val, kind, i = _field_value(line, i + 1)
        if key in fields:
            raise LineError("duplicate field %r" % key)
        fields[key] = (val, kind)
        if i < len(line) and line[i] == ",":
            i += 1
            continue
        break
    if i >= len(line) or line[i] != " ":
        raise LineError("no timestamp (integer ns) after the fields")
    ts = line[i + 1:]
    if not TS_RE.match(ts):
        raise LineError("bad timestamp %r" % ts)
    tsv = int(ts)
    # Nanoseconds since the epoch: after 2001-09-09 and before 2286.
    if not 10 ** 18 <= tsv < 10 ** 19:
        raise LineError("timestamp %d is not in nanoseconds" % tsv)
    return meas, tags, fields, tsv


class State:
    def __init__(self, args):
        self.args = args
        self.lock = threading.Lock()
        self.requests = 0
        self.statuses = {}
        self.lines_accepted = 0
        self.by_measurement = {}
        self.field_keys = {}
        self.drum_seen = set()
        self.duplicates = 0
        self.failures = []
        self.failure_count = 0
        self.max_lines = 0
        self.seen = {503: 0, 429: 0, 413: 0}
        self.t_429 = None
        self.gap_after_429 = None

    def fail(self, msg):
        self.failure_count += 1
        if len(self.failures) < 50:
            self.failures.append(msg)

    def report(self):
        return {
            "requests": self.requests,
            "statuses": {str(k): v for k, v in sorted(self.statuses.items())},
            "lines_accepted": self.lines_accepted,
            "by_measurement": self.by_measurement,
            "field_keys": {k: sorted(v) for k, v in self.field_keys.items()},
            "drum_unique": len(self.drum_seen),
            "duplicates": self.duplicates,
            "failures": self.failures,
            "failure_count": self.failure_count,
            "max_lines_in_request": self.max_lines,
            "seen_503": self.seen[503],
            "seen_429": self.seen[429],
            "seen_413": self.seen[413],
            "gap_after_429_s": self.gap_after_429,
        }

    def write_report(self):
        if not self.args.report:
            return
        tmp = self.args.report + ".tmp"
        with open(tmp, "w") as f:
            json.dump(self.report(), f, indent=1, sort_keys=True)
        os.replace(tmp, self.args.report)


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "fake-influx-v2"

    def log_message(self, fmt, *a):
        if self.server.state.args.verbose:
            sys.stderr.write("fake_influx_v2: " + (fmt % a) + "\n")

    def _answer(self, code, msg="", headers=None):
        body = b""
        if code >= 400:
            body = json.dumps({"code": "invalid", "message": msg}).encode()
        self.send_response(code)
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        if body:
            self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if body:
            self.wfile.write(body)

    def _read_body(self):
        te = (self.headers.get("Transfer-Encoding") or "").lower()
        if "chunked" in te:
            chunks = []
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    break
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
            return b"".join(chunks)
        n = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(n) if n else b""

    def do_GET(self):
        st = self.server.state
        raw = self._read_body()
        del raw
        with st.lock:
            st.requests += 1
            st.fail("GET %s: the hub must only POST" % self.path)
            st.statuses[404] = st.statuses.get(404, 0) + 1
            st.write_report()
        self._answer(404, "not found")

    do_PUT = do_GET
    do_DELETE = do_GET

    def do_POST(self):
        st = self.server.state
        a = st.args
        raw = self._read_body()
        problems = []
        u = urlsplit(self.path)
        if u.path != "/api/v2/write":
            problems.append("path %r is not /api/v2/write" % u.path)
        q = parse_qs(u.query, keep_blank_values=True)
        want = {"org": [a.org], "bucket": [a.bucket], "precision": ["ns"]}
        if q != want:
            problems.append("query %r, expected exactly %r" % (u.query, want))
        auth = self.headers.get_all("Authorization") or []
        if auth != ["Token " + a.token]:
            problems.append("Authorization header is not exactly 'Token <token>' (%d header(s), %s)"
                            % (len(auth), "wrong value" if auth else "missing"))
        ctype = self.headers.get("Content-Type")
        if ctype != "text/plain; charset=utf-8":
            problems.append("Content-Type %r" % ctype)
        enc = (self.headers.get("Content-Encoding") or "").strip().lower()
        body = raw
        if a.gzip and enc != "gzip":
            problems.append("Content-Encoding %r, expected gzip" % enc)
        if enc == "gzip":
            try:
                body = gzip.decompress(raw)
            except (OSError, EOFError, zlib.error) as e:
                problems.append("body does not gunzip: %s" % e)
                body = b""
        elif enc:
            problems.append("unknown Content-Encoding %r" % enc)
        parsed = []
        try:
            text = body.decode("utf-8")
        except UnicodeDecodeError as e:
            problems.append("body is not UTF-8: %s" % e)
            text = ""
        lines = [ln for ln in text.split("\n") if ln != ""]
        if not lines and not problems:
            problems.append("empty body")
        for n, ln in enumerate(lines, 1):
            try:
                parsed.append(parse_line(ln))
            except LineError as e:
                problems.append("line %d: %s: %r" % (n, e, ln[:200]))
                if len(problems) > 5:
                    break

        with st.lock:
            st.requests += 1
            nreq = st.requests
            st.max_lines = max(st.max_lines, len(lines))
            if st.t_429 is not None and st.gap_after_429 is None:
                st.gap_after_429 = round(time.monotonic() - st.t_429, 3)
            headers = {}
            if problems:
                code = 400
                for p in problems:
                    st.fail("request %d: %s" % (nreq, p))
                msg = "; ".join(problems)
            elif a.faults and nreq == 1:
                code, msg = 503, "fault injection: service unavailable"
            elif a.faults and nreq == 2:
                code, msg = 429, "fault injection: too many requests"
                headers["Retry-After"] = "1"
                st.t_429 = time.monotonic()
            elif a.max_lines and len(lines) > a.max_lines:
                code, msg = 413, "fault injection: %d lines > %d" % (len(lines), a.max_lines)
            else:
                code, msg = 204, ""
                for meas, tags, fields, ts in parsed:
                    st.lines_accepted += 1
                    st.by_measurement[meas] = st.by_measurement.get(meas, 0) + 1
                    st.field_keys.setdefault(meas, set()).update(fields)
                    if meas == "drum":
                        key = (tuple(sorted(tags.items())), ts)
                        if key in st.drum_seen:
                            st.duplicates += 1
                        st.drum_seen.add(key)
            if code in st.seen:
                st.seen[code] += 1
            st.statuses[code] = st.statuses.get(code, 0) + 1
            st.write_report()
        self._answer(code, msg, headers)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--port-file", help="write the port here once listening")
    ap.add_argument("--org", required=True)
    ap.add_argument("--bucket", required=True)
    ap.add_argument("--token", required=True)
    ap.add_argument("--gzip", action="store_true", help="require Content-Encoding: gzip")
    ap.add_argument("--faults", action="store_true", help="answer 503, then 429, then 413s")
    ap.add_argument("--max-lines", type=int, default=0, help="413 above this many lines")
    ap.add_argument("--report", help="JSON report file")
    ap.add_argument("--timeout", type=float, default=300, help="exit after this many seconds")
    ap.add_argument("--verbose", action="store_true")
    args = ap.parse_args()

    srv = ThreadingHTTPServer(("127.0.0.1", args.port), Handler)
    srv.daemon_threads = True
    srv.state = State(args)
    srv.state.write_report()
    if args.port_file:
        tmp = args.port_file + ".tmp"
        with open(tmp, "w") as f:
            f.write("%d\n" % srv.server_address[1])
        os.replace(tmp, args.port_file)

    def stop(*_):
        threading.Thread(target=srv.shutdown, daemon=True).start()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    timer = threading.Timer(args.timeout, stop)
    timer.daemon = True
    timer.start()
    srv.serve_forever(poll_interval=0.2)
    with srv.state.lock:
        srv.state.write_report()
    srv.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
