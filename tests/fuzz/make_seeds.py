#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Write the seed corpora in tests/fuzz/corpus/<target>/ (run from anywhere).

The seeds are small, meaningful inputs in each target's input format (see
the comment at the top of each fuzz_<target>.c): valid and hostile topics
and payloads from DESIGN.md section 3, line protocol programs, configs,
InfluxDB answers. The files are committed; re-run this after changing an
input format, and commit what changes. Only the Python standard library.
"""
import os
import shutil
import struct

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
CORPUS = os.path.join(HERE, "corpus")


def write(target, name, data):
    d = os.path.join(CORPUS, target)
    os.makedirs(d, exist_ok=True)
    if isinstance(data, str):
        data = data.encode()
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


def reset(target):
    shutil.rmtree(os.path.join(CORPUS, target), ignore_errors=True)


# ---- fuzz_decode: topic NUL payload ------------------------------------

def decode_seeds():
    t = "decode"
    reset(t)
    seeds = {
        "plain_number": (b"kube/mekarsari/drum/d3/temp_core_c", b"56.25"),
        "plain_spaces_exp": (b"kube/mekarsari/tank/t1/ph", b" \t-1.5e-3\r\n"),
        "plain_nan": (b"kube/mekarsari/drum/d3/temp_mid_c", b"nan"),
        "plain_neg_inf": (b"kube/mekarsari/drum/d3/temp_mid_c", b"-Infinity"),
        "plain_ds18b20_85": (b"kube/mekarsari/drum/d3/temp_top_c", b"85.0"),
        "plain_ds18b20_127": (b"kube/mekarsari/drum/d3/temp_top_c", b"-127"),
        "plain_hex": (b"kube/mekarsari/drum/d3/moisture_pct", b"0x1p3"),
        "plain_huge": (b"kube/mekarsari/site/amb/temp_ambient_c", b"1e400"),
        "json_readings": (b"kube/mekarsari/drum/d3",
                          b'{"ts": 1764295200123, "temp_core_c": 56.2, "moisture_pct": 52}'),
        "json_rfc3339": (b"kube/mekarsari/drum/d3",
                         b'{"ts": "2026-11-28T18:00:00.123+08:00", "temp_core_c": 56.2}'),
        "json_leap_second": (b"kube/mekarsari/tank/t2",
                             b'{"ts": "2016-12-31T23:59:60Z", "level_cm": 80}'),
        "json_bad_ts": (b"kube/mekarsari/drum/d3",
                        b'{"ts": "2262-04-12T00:00:00Z", "o2_pct": 12}'),
        "json_hostile_names": (b"kube/mekarsari/drum/d3",
                               b'{"time": 1, "a b": 2, "c,d": 3, "e=f": 4, "g\\\\h": 5,'
                               b' "i\\u0001": 6, "site": 7, "x": "text", "y": [1], "z": null,'
                               b' "x": 8, "\\ud800": 9}'),
        "json_many_fields": (b"kube/mekarsari/drum/d3",
                             ("{" + ", ".join('"f%d": %d' % (i, i) for i in range(40)) + "}")
                             .encode()),
        "json_trailing": (b"kube/mekarsari/drum/d3", b'{"temp_core_c": 1} x'),
        "json_nested": (b"kube/mekarsari/drum/d3", b'{"a": {"b": {"c": [[[[1]]]]}}, "d": 1}'),
        "event_batch_start": (b"kube/mekarsari/drum/d3/event",
                              b'{"event": "batch_start", "batch": "D3-2026-11", "mass_kg": 120,'
                              b' "member": "sari"}'),
        "event_fill": (b"kube/mekarsari/tank/t1/event",
                       b'{"event": "fill", "litres": 200, "ts": 1764295200123,'
                       b' "note": "line\\nbreak \\"quoted\\""}'),
        "event_no_name": (b"kube/mekarsari/drum/d3/event", b'{"member": "sari", "mass_kg": 1}'),
        "event_dup": (b"kube/mekarsari/drum/d3/event",
                      b'{"event": "turn", "event": "water", "member": "a", "member": 5}'),
        "topic_bad_kind": (b"kube/mekarsari/barrel/d3/temp_core_c", b"1"),
        "topic_time_field": (b"kube/mekarsari/drum/d3/time", b"1"),
        "topic_control": (b"kube/meka\x01rsari/drum/d3/temp_core_c", b"1"),
        "topic_backslash": (b"kube/mekarsari/drum/d\\3/temp_core_c", b"1"),
        "topic_escapes": (b"kube/mekar sari,x=y/drum/d\"3/temp core,c=1", b"1"),
        "topic_bad_utf8": (b"kube/\xc0\xaf/drum/\xed\xa0\x80/temp_core_c", b"1"),
        "topic_utf8": ("kube/mekarsari/drum/\u00e9\U0001f331/temp_core_c".encode(), b"2"),
        "topic_empty_level": (b"kube//drum/d3/temp_core_c", b"1"),
        "topic_long_level": (b"kube/" + b"s" * 64 + b"/drum/d3/x", b"1"),
        "topic_many_levels": (b"kube" + b"/a" * 20, b"1"),
        "oversized": (b"kube/mekarsari/drum/d3", b'{"a": ' + b"1" * 4100 + b"}"),
        "no_payload": (b"kube/mekarsari/drum/d3/temp_core_c", b""),
    }
    for name, (topic, payload) in seeds.items():
        write(t, name, topic + b"\0" + payload)


# ---- fuzz_lineproto: a program of encoder calls ------------------------

OP_TAG, OP_FLOAT, OP_INT, OP_STR, OP_BOOL, OP_DECIMAL = range(6)


def name(s):
    if s is None:
        return b"\xff"
    if isinstance(s, str):
        s = s.encode()
    assert len(s) < 0xFE
    return bytes([len(s)]) + s


def long_name(pattern, half_len):
    """A name of 2 * half_len bytes repeating pattern (1..15 bytes)."""
    assert 1 <= len(pattern) <= 15 and 1 <= half_len <= 65536
    return b"\xfe" + struct.pack("<H", half_len - 1) + bytes([len(pattern) - 1]) + pattern


def op(t, key, value=None):
    out = bytes([t]) + (key if isinstance(key, bytes) else name(key))
    if t in (OP_TAG, OP_STR):
        out += value if isinstance(value, bytes) else name(value)
    elif t == OP_FLOAT:
        out += struct.pack("<d", value)
    elif t == OP_INT:
        out += struct.pack("<q", value)
    elif t == OP_BOOL:
        out += bytes([value])
    elif t == OP_DECIMAL:
        mant, k = value
        out += struct.pack("<Q", mant << 8) + bytes([k])
    return out


def line(meas, ops, ts_sel=8, ts_raw=None):
    m = meas if isinstance(meas, bytes) else name(meas)
    out = m + bytes([len(ops)]) + b"".join(ops)
    if ts_raw is not None:
        return out + b"\xff" + struct.pack("<q", ts_raw)
    return out + bytes([ts_sel])


def lineproto_seeds():
    t = "lineproto"
    reset(t)
    drum = line("drum", [op(OP_TAG, "id", "d3"), op(OP_TAG, "site", "mekarsari"),
                         op(OP_DECIMAL, "temp_core_c", (5625, 2)),
                         op(OP_DECIMAL, "moisture_pct", (52, 0))])
    write(t, "drum_reading", b"\x00" + drum)
    write(t, "all_types", b"\x04" + line("event", [
        op(OP_TAG, "event", "batch_start"), op(OP_TAG, "member", "sari"),
        op(OP_FLOAT, "mass_kg", 120.5), op(OP_INT, "count", -9223372036854775808),
        op(OP_STR, "batch", 'D3 "2026"\\11\n'), op(OP_BOOL, "seen", 1),
        op(OP_BOOL, "gone", 0)], ts_raw=1764295200123000000))
    write(t, "escapes", b"\x00" + line("a b,c=d", [
        op(OP_TAG, "k,1=2 3", "v,a=b c"), op(OP_FLOAT, "f 1,=", 0.1),
        op(OP_FLOAT, '"q"', -0.0), op(OP_STR, "s", "")]))
    write(t, "hostile_names", b"\x00" + line("#comment", [op(OP_FLOAT, "v", 1.0)]) +
          line("m", [op(OP_TAG, "time", "x"), op(OP_FLOAT, "v", 1.0)]) +
          line("m", [op(OP_FLOAT, "time", 1.0)]) +
          line("m\\", [op(OP_FLOAT, "v", 1.0)]) +
          line("m", [op(OP_TAG, "k", "a\x01b"), op(OP_FLOAT, "v", 1.0)]) +
          line("m", [op(OP_TAG, "k", ""), op(OP_FLOAT, "v", 1.0)]) +
          line(None, [op(OP_FLOAT, "v", 1.0)]))
    write(t, "order_and_nan", b"\x00" + line("m", [op(OP_FLOAT, "v", 1.0),
                                                   op(OP_TAG, "late", "tag")]) +
          line("m", [op(OP_FLOAT, "v", float("nan"))]) +
          line("m", [op(OP_FLOAT, "v", float("-inf"))]) +
          line("m", [op(OP_STR, "s", None)]) + line("m", []))
    write(t, "timestamps", b"\x00" + b"".join(
        line("m", [op(OP_INT, "v", 1)], ts_sel=s) for s in range(9)))
    write(t, "floats", b"\x00" + line("m", [
        op(OP_FLOAT, "a", 5e-324), op(OP_FLOAT, "b", 1.7976931348623157e308),
        op(OP_FLOAT, "c", 0.1 + 0.2), op(OP_FLOAT, "d", 1e15), op(OP_FLOAT, "e", 123456789012345.6),
        op(OP_FLOAT, "f", 1e-5), op(OP_DECIMAL, "g", (1, 4)), op(OP_DECIMAL, "h", (999999999999999, 18))]))
    # series key at the 65535-byte limit: 65526-byte measurement + 4 + a 5-byte key
    write(t, "key_limit", b"\x00" + line(long_name(b"m", 32763), [op(OP_FLOAT, "abcde", 1.0)]) +
          line(long_name(b"m", 32763), [op(OP_FLOAT, "abcdef", 1.0)]) +
          line(long_name(b"a,", 16384), [op(OP_FLOAT, "v", 1.0)]))
    write(t, "cap_small", b"\x05\x30" + drum + drum)
    write(t, "cap_exact", b"\x06\x60\x00" + drum + drum)


# ---- fuzz_config: libconfig text ---------------------------------------

def config_seeds():
    t = "config"
    reset(t)
    with open(os.path.join(ROOT, "config", "kompos-hub.cfg"), "rb") as f:
        write(t, "kompos-hub.cfg", f.read())
    for n in ("bad-range.cfg", "v2.cfg"):
        p = os.path.join(ROOT, "tests", "data", "configs", n)
        if os.path.exists(p):
            with open(p, "rb") as f:
                write(t, n, f.read())
    write(t, "empty.cfg", "")
    write(t, "minimal.cfg", 'site = "mekarsari";\n')
    write(t, "v2_api.cfg", 'influx = { api = "v2"; org = "kube"; bucket = "compost";'
                           ' token_file = ""; };\n')
    write(t, "templates.cfg", 'decode = {\n  templates = ( "kube/{site}/{kind}/{id}/{field}",'
                              ' "sites/{site}/+/{kind}/{id}" );\n  kinds = ( "drum", "tank",'
                              ' "site", "bin" );\n};\n')
    write(t, "bad_template.cfg", 'decode = { templates = ( "kube/{site}/{kind}/{id}/a+b" ); };\n')
    write(t, "ranges.cfg", 'validate = {\n  ranges = ( { field = "temp_*_c"; min = -10.0;'
                           ' max = 90.0; }, { field = "ph"; min = 0; max = 14; } );\n'
                           '  ds18b20_fields = "temp_*_c";\n  ds18b20_hot_c = 80.0;\n'
                           '  max_future_s = 300;\n};\n')
    write(t, "bad_ranges.cfg", 'validate = { ranges = ( { field = "x"; min = 5; max = 1; } ); };\n')
    write(t, "unknown_key.cfg", 'mqtt = {\n  host = "127.0.0.1";\n  colour = "blue";\n};\n')
    write(t, "wrong_types.cfg", 'mqtt = { port = "1883"; qos = 1.5; clean_session = 1; };\n'
                                'influx = { batch_size = 5000.0; };\n')
    write(t, "out_of_range.cfg", 'influx = { batch_size = 0; max_queue_points = 10; };\n'
                                 'limits = { max_payload_bytes = 99999999999L; };\n')
    write(t, "syntax_error.cfg", 'site = "mekarsari"\nmqtt = { host = ; };\n')
    write(t, "url_password.cfg", 'influx = { url = "http://user:pw@127.0.0.1:8086"; };\n')
    write(t, "tls_half.cfg", 'mqtt = { tls_cert_file = "/nonexistent/cert.pem"; };\n')
    write(t, "strings.cfg", 'site = "a\\"b\\\\c\\x01d";\nmqtt = { subscriptions = ( "" ); };\n')


# ---- fuzz_influx_answer: writer and hub programs -----------------------

def u16(v):
    return struct.pack("<H", v)


def answer(status_sel, retry_sel, body=b"", extra_status=None, extra_retry=None,
           nobody=False):
    """An answer step's arguments: u16 body length (bit 15: no body),
    status selector [+ i32], Retry-After selector [+ i32], body."""
    out = u16(len(body) | (0x8000 if nobody else 0)) + bytes([status_sel])
    if status_sel >= 200:
        out += struct.pack("<i", extra_status)
    out += bytes([retry_sel])
    if retry_sel >= 128:
        out += struct.pack("<i", extra_retry)
    return out + body


# take_status(): index into the table of common codes
S_200, S_204, S_0, S_400, S_401, S_403, S_404, S_413, S_429, S_500 = range(10)
S_503 = 11
S_100 = 13
S_LONG_MAX = 29
# take_retry_after(): index into its table
R_ABSENT, R_0, R_1, R_5, R_60 = range(5)
R_3601 = 7
R_LONG_MAX = 9

W_COMMIT, W_TICK, W_ANSWER, W_FLUSH, W_REFUSE, W_JUMP = 0, 2, 3, 5, 6, 7

PARTIAL = (b'{"error":"partial write: field type conflict: input field \\"v\\" on measurement'
           b' \\"m\\" is type float, already exists as type integer dropped=1"}')


def writer(flags, batch, flush, maxq, retry_max, steps):
    return b"\x00" + bytes([flags, batch, flush, maxq]) + u16(retry_max) + b"".join(steps)


def commit(k):
    return bytes([W_COMMIT, k - 1])


def tick(ms):
    return bytes([W_TICK]) + u16(ms)


def ans(*a, **kw):
    return bytes([W_ANSWER]) + answer(*a, **kw)


def hub(flags, batch, window, ring, self_s, max_series, steps):
    return b"\x01" + bytes([flags, batch, window, ring, self_s, max_series]) + b"".join(steps)


def hreconf(flags, batch, window, ring, self_s, max_series):
    """SIGHUP with a new hub configuration (flags bit 2: a bad template)."""
    return bytes([245, flags, batch, window, ring, self_s, max_series])


def msg(topic, payload, gap=0):
    """A message step; gap (0..3) is the ms that pass after it."""
    return bytes([gap]) + topic + b"\0" + u16(len(payload)) + payload


def htick(ms):
    return bytes([160]) + u16(ms)


def hans(*a, **kw):
    return bytes([200]) + answer(*a, **kw)


def influx_answer_seeds():
    t = "influx_answer"
    reset(t)
    write(t, "writer_ok", writer(0, 3, 10, 10, 100, [
        commit(3), tick(10), ans(S_204, R_ABSENT), commit(2), tick(200), ans(S_200, R_ABSENT)]))
    write(t, "writer_gzip_retry", writer(1, 4, 5, 20, 600, [
        commit(4), tick(1), ans(S_503, R_5, b'{"error":"timeout"}'), tick(5000),
        ans(S_429, R_60), tick(60000), ans(S_0, R_ABSENT), tick(30000), ans(S_204, R_ABSENT)]))
    write(t, "writer_413_split", writer(0, 8, 10, 30, 100, [
        commit(8), ans(S_413, R_ABSENT, b"Request Entity Too Large"), ans(S_413, R_ABSENT),
        ans(S_413, R_ABSENT), ans(S_204, R_ABSENT), ans(S_413, R_ABSENT), ans(S_204, R_ABSENT)]))
    write(t, "writer_partial", writer(0, 4, 10, 10, 100, [
        commit(4), tick(1), ans(S_400, R_ABSENT, PARTIAL), commit(4), tick(1),
        ans(S_400, R_ABSENT, b'{"error":"partial write: dropped=99"}'), commit(4), tick(1),
        ans(S_400, R_ABSENT, b'{"error":"partial write: dropped=-3"}'), commit(4), tick(1),
        ans(S_401, R_ABSENT, b'{"error":"authorization failed"}', nobody=True)]))
    write(t, "writer_cap_refuse", writer(0, 2, 1, 0, 100, [
        bytes([W_REFUSE]), commit(8), commit(8), commit(8), tick(100), commit(8), commit(8),
        bytes([W_REFUSE]), bytes([W_FLUSH]), ans(S_500, R_3601), ans(S_204, R_ABSENT)]))
    write(t, "writer_odd_answers", writer(0, 1, 1, 1, 100, [
        ans(S_204, R_ABSENT), commit(1), tick(1), ans(S_100, R_LONG_MAX),
        commit(1), tick(1), ans(S_LONG_MAX, R_ABSENT), commit(1), tick(1),
        ans(200, 128, b"x", extra_status=-7, extra_retry=-5),
        bytes([W_JUMP]) + struct.pack("<I", 0xFFFFFFFF)]))
    drum = b"kube/mekarsari/drum/d3"
    write(t, "hub_readings", hub(0, 4, 1, 8, 1, 16, [
        msg(drum + b"/temp_core_c", b"56.25"),
        msg(drum, b'{"temp_core_c": 56.2, "moisture_pct": 52}', 1),
        msg(b"kube/mekarsari/tank/t1/ph", b"6.8"),
        msg(b"kube/mekarsari/site/amb/temp_ambient_c", b"31.5"),
        htick(1500), hans(S_204, R_ABSENT), htick(2000), hans(S_204, R_ABSENT)]))
    write(t, "hub_faults_events", hub(1, 2, 2, 8, 2, 8, [
        msg(drum + b"/temp_top_c", b"85.0"), msg(drum + b"/temp_top_c", b"-127"),
        msg(drum + b"/moisture_pct", b"nan"), msg(drum + b"/moisture_pct", b"250"),
        msg(drum, b'{"ts": 9999999999999, "o2_pct": 12}'),
        msg(drum + b"/event", b'{"event": "turn", "member": "sari"}'),
        msg(drum + b"/event", b'{"event": "harvest", "mass_kg": 80, "note": "a\\"b"}'),
        msg(b"kube/x/drum/y/z", b"1e308"), msg(b"kube/x/drum/y/z", b"1.7e308"),
        htick(3000), hans(S_503, R_1), htick(2000), hans(S_204, R_ABSENT)]))
    write(t, "hub_reconfigure", hub(2, 8, 4, 8, 1, 16, [
        msg(drum + b"/temp_core_c", b"56.25"), msg(drum + b"/moisture_pct", b"52"),
        htick(500), hreconf(4, 1, 0, 8, 1, 16),
        msg(drum + b"/temp_core_c", b"56.5", 1), hreconf(3, 2, 0, 9, 2, 1),
        msg(drum + b"/temp_core_c", b"57"), msg(drum + b"/o2_pct", b"12"),
        htick(3000), hans(S_204, R_ABSENT), htick(3000), hans(S_204, R_ABSENT)]))
    write(t, "hub_hostile", hub(0, 1, 1, 8, 1, 2, [
        msg(b"kube/a b,c=d/drum/e\"f/g h", b"1"), msg(b"kube/\x01/drum/x/y", b"1"),
        msg(b"kube/s/drum/i1/f", b"1"), msg(b"kube/s/drum/i2/f", b"2"),
        msg(b"kube/s/drum/i3/f", b"3"), msg(b"kube/s/drum/i1", b"{" * 300),
        htick(1000), hans(S_400, R_ABSENT, PARTIAL), htick(1000)]))


def main():
    decode_seeds()
    lineproto_seeds()
    config_seeds()
    influx_answer_seeds()
    total = 0
    for dirpath, _, files in os.walk(CORPUS):
        for f in files:
            total += os.path.getsize(os.path.join(dirpath, f))
    print("seed corpora in %s: %d bytes" % (CORPUS, total))


if __name__ == "__main__":
    main()
