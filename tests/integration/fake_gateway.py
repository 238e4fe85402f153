#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""fake_gateway.py - a real HTTP server standing in for the SMS/WhatsApp
gateways (Twilio SMS/WhatsApp, Meta WhatsApp Cloud API, Fonnte, a plain
webhook) in tests. Python 3 stdlib only.

It binds 127.0.0.1 (--port, 0 = a free port), prints the port on stdout,
records every request as one JSON line in --log (method, path, headers,
body, provider, shape_error, answer), checks the exact request shape of
the provider the path names (anchors-alerting.md Part 2), and answers per
--script, one element per well-shaped request (after the script: success):

  200            the provider's success answer (Twilio 201 + sid, Meta 200 +
                 wamid, Fonnte 200 + status:true, webhook 200)
  500, 503 ...   that status with the provider's error body
  429+ra=7       that status with Retry-After: 7
  400+code=21211 that status with the provider's error code in the body
  false=REASON   HTTP 200 with {"status": false, "reason": REASON} (Fonnte)
  garbage        HTTP 200 with a body that is not JSON
  hang           never answer (the client's timeout fires)

A request of the wrong shape is answered 400 {"error": "shape: ..."},
recorded with shape_error, and does not use up a script element.
It stops by itself after --max-seconds.

Providers by path:
  /2010-04-01/Accounts/<sid>/Messages.json   twilio (sms or whatsapp)
  /v<ver>/<phone_number_id>/messages         whatsapp_cloud
  /send                                      fonnte
  anything else                              webhook
"""
import argparse
import base64
import json
import re
import sys
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

E164 = re.compile(r"^\+[1-9][0-9]{7,14}$")
DIGITS = re.compile(r"^[1-9][0-9]{7,14}$")
TWILIO_PATH = re.compile(r"^/2010-04-01/Accounts/([A-Za-z0-9]+)/Messages\.json$")
META_PATH = re.compile(r"^/v[0-9]+(\.[0-9]+)?/([0-9A-Za-z_-]+)/messages$")


class Shape(Exception):
    pass


def parse_form(ctype, body):
    """Form fields of an urlencoded or multipart body -> dict of str."""
    if ctype.startswith("application/x-www-form-urlencoded"):
        try:
            q = urllib.parse.parse_qs(body.decode("utf-8"), keep_blank_values=True,
                                      strict_parsing=True, errors="strict")
        except (UnicodeDecodeError, ValueError) as e:
            raise Shape("form body does not decode: %s" % e)
        out = {}
        for k, v in q.items():
            if len(v) != 1:
                raise Shape("form field %s repeated" % k)
            out[k] = v[0]
        return out
    if ctype.startswith("multipart/form-data"):
        m = re.search(r'boundary="?([^";]+)"?', ctype)
        if not m:
            raise Shape("multipart without boundary")
        out = {}
        for part in body.split(b"--" + m.group(1).encode())[1:]:
            if part.startswith(b"--"):
                break
            head, _, val = part.partition(b"\r\n\r\n")
            n = re.search(rb'name="([^"]+)"', head)
            if n:
                out[n.group(1).decode()] = val[:-2].decode("utf-8", "strict")
        return out
    raise Shape("content type %r is not a form" % ctype)


def check_twilio(h, path, body, args):
    m = TWILIO_PATH.match(path)
    sid = m.group(1)
    if args.twilio_sid and sid != args.twilio_sid:
        raise Shape("AccountSid in path is not the configured one")
    auth = h.get("Authorization", "")
    if not auth.startswith("Basic "):
        raise Shape("no Basic auth")
    try:
        user, _, pw = base64.b64decode(auth[6:], validate=True).decode().partition(":")
    except Exception:
        raise Shape("Basic auth does not decode")
    if user != sid or (args.twilio_token and pw != args.twilio_token):
        raise Shape("Basic auth is not SID:TOKEN")
    f = parse_form(h.get("Content-Type", ""), body)
    for k in ("To", "From"):
        if k not in f:
            raise Shape("missing form field %s" % k)
    if "ContentSid" in f:
        if "Body" in f:
            raise Shape("template (ContentSid) with a Body")
        if not f["ContentSid"].startswith("HX"):
            raise Shape("ContentSid is not HX...")
        try:
            cv = json.loads(f.get("ContentVariables", "{}"))
        except ValueError:
            raise Shape("ContentVariables is not JSON")
        if not isinstance(cv, dict):
            raise Shape("ContentVariables is not an object")
        f["Body"] = "(template)"
    elif "ContentVariables" in f:
        raise Shape("ContentVariables without ContentSid (21654)")
    if "Body" not in f:
        raise Shape("missing form field Body")
    wa_to, wa_from = f["To"].startswith("whatsapp:"), f["From"].startswith("whatsapp:")
    if wa_to != wa_from:
        raise Shape("whatsapp: prefix on only one of To/From")
    to = f["To"][9:] if wa_to else f["To"]
    fr = f["From"][9:] if wa_from else f["From"]
    if not E164.match(to) or not E164.match(fr):
        raise Shape("To/From not E.164")
    if not f["Body"]:
        raise Shape("empty Body")
    return "twilio_whatsapp" if wa_to else "twilio_sms"


def check_meta(h, path, body, args):
    auth = h.get("Authorization", "")
    if not auth.startswith("Bearer ") or len(auth) < 8:
        raise Shape("no Bearer token")
    if args.token and auth[7:] != args.token:
        raise Shape("wrong Bearer token")
    if not h.get("Content-Type", "").startswith("application/json"):
        raise Shape("not JSON")
    try:
        j = json.loads(body.decode("utf-8"))
    except Exception:
        raise Shape("body is not JSON")
    if j.get("messaging_product") != "whatsapp":
        raise Shape("messaging_product is not whatsapp")
    if not DIGITS.match(str(j.get("to", ""))):
        raise Shape("to is not digits with country code")
    t = j.get("type")
    if t == "template":
        tp = j.get("template") or {}
        if not tp.get("name") or not (tp.get("language") or {}).get("code"):
            raise Shape("template without name or language.code")
        comps = tp.get("components") or []
        if args.template_params is not None:
            params = [p for c in comps if c.get("type") == "body"
                      for p in c.get("parameters", [])]
            if len(params) != args.template_params:
                raise Shape("template wants %d parameters" % args.template_params)
            for p in params:
                if p.get("type") != "text" or "\n" in p.get("text", "") \
                        or "\t" in p.get("text", ""):
                    raise Shape("template parameter with newline or tab")
    elif t == "text":
        b = (j.get("text") or {}).get("body", "")
        if not b or len(b) > 4096:
            raise Shape("text.body empty or over 4096")
    else:
        raise Shape("type is neither template nor text")
    return "whatsapp_cloud"


def check_fonnte(h, path, body, args):
    auth = h.get("Authorization", "")
    if not auth or auth.startswith("Bearer"):
        raise Shape("Authorization must be the raw token")
    if args.token and auth != args.token:
        raise Shape("wrong token")
    f = parse_form(h.get("Content-Type", ""), body)
    tgt = f.get("target", "")
    cc = f.get("countryCode", "62")
    for one in tgt.split(","):
        one = one.split("|")[0]
        if not (DIGITS.match(one) or (one.startswith("0") and cc != "0"
                                      and one[1:].isdigit())):
            raise Shape("target %r is not 62... or 08..." % one)
    if not f.get("message"):
        raise Shape("empty message")
    return "fonnte"


def check_webhook(h, path, body, args):
    if not h.get("Content-Type", "").startswith("application/json"):
        raise Shape("not JSON")
    if args.token and h.get("Authorization") != "Bearer " + args.token:
        raise Shape("wrong or missing Bearer token")
    try:
        j = json.loads(body.decode("utf-8"))
    except Exception:
        raise Shape("body is not JSON")
    for k in ("key", "member", "phone", "text", "rule", "alert_id", "site"):
        if not isinstance(j.get(k), str):
            raise Shape("field %s missing or not a string" % k)
    if not E164.match(j["phone"]):
        raise Shape("phone not E.164")
    return "webhook"


def success(provider, n, body):
    if provider.startswith("twilio"):
        return 201, {"sid": "SM%032x" % n, "status": "queued"}
    if provider == "whatsapp_cloud":
        return 200, {"messaging_product": "whatsapp",
                     "contacts": [{"input": "x", "wa_id": "x"}],
                     "messages": [{"id": "wamid.FAKE%d" % n}]}
    if provider == "fonnte":
        return 200, {"detail": "success! message in queue", "id": [str(80000000 + n)],
                     "process": "pending", "status": True, "target": ["x"]}
    return 200, {"ok": True}


def error_body(provider, status, code):
    if provider.startswith("twilio"):
        return {"code": code or (20429 if status == 429 else 20500),
                "message": "fake error", "more_info": "", "status": status}
    if provider == "whatsapp_cloud":
        return {"error": {"message": "fake error", "code": code or 131000}}
    if provider == "fonnte":
        return {"status": False, "reason": "fake error %d" % status}
    return {"error": "fake error"}


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *a):
        pass

    def do_POST(self):
        self.handle_any()

    def do_GET(self):
        self.handle_any()

    def handle_any(self):
        srv = self.server
        n = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(n) if n else b""
        path = self.path
        rec = {"t": time.time(), "method": self.command, "path": path,
               "headers": dict(self.headers.items()),
               "body": body.decode("utf-8", "replace"), "provider": None,
               "shape_error": None}
        try:
            if self.command != "POST":
                raise Shape("method is not POST")
            if TWILIO_PATH.match(path):
                prov = check_twilio(self.headers, path, body, srv.args)
            elif META_PATH.match(path):
                prov = check_meta(self.headers, path, body, srv.args)
            elif path == "/send":
                prov = check_fonnte(self.headers, path, body, srv.args)
            else:
                prov = check_webhook(self.headers, path, body, srv.args)
            rec["provider"] = prov
        except Shape as e:
            rec["shape_error"] = str(e)
            rec["answer"] = 400
            srv.record(rec)
            self.reply(400, {"error": "shape: %s" % e})
            return
        with srv.lock:
            srv.count += 1
            k = srv.count
            step = srv.script.pop(0) if srv.script else "200"
        rec["script"] = step
        headers = {}
        if step == "hang":
            rec["answer"] = 0
            srv.record(rec)
            time.sleep(srv.args.max_seconds)
            return
        if step == "garbage":
            rec["answer"] = 200
            srv.record(rec)
            self.reply(200, None, raw=b"<html>not json")
            return
        if step.startswith("false="):
            rec["answer"] = 200
            srv.record(rec)
            self.reply(200, {"status": False, "reason": step[6:]})
            return
        parts = step.split("+")
        status = int(parts[0])
        code = 0
        for p in parts[1:]:
            if p.startswith("ra="):
                headers["Retry-After"] = p[3:]
            elif p.startswith("code="):
                code = int(p[5:])
        if 200 <= status < 300:
            status, obj = success(prov, k, body)
        else:
            obj = error_body(prov, status, code)
        rec["answer"] = status
        srv.record(rec)
        self.reply(status, obj, headers)

    def reply(self, status, obj, headers=None, raw=None):
        data = raw if raw is not None else json.dumps(obj).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(data)


class Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, args):
        super().__init__(("127.0.0.1", args.port), Handler)
        self.args = args
        self.lock = threading.Lock()
        self.count = 0
        self.script = [s.strip() for s in args.script.split(",") if s.strip()]
        self.logf = open(args.log, "a", encoding="utf-8") if args.log else None

    def record(self, rec):
        if self.logf:
            with self.lock:
                self.logf.write(json.dumps(rec) + "\n")
                self.logf.flush()


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--log", default=None)
    ap.add_argument("--script", default="")
    ap.add_argument("--max-seconds", type=float, default=60)
    ap.add_argument("--token", default=None, help="expected Bearer/Fonnte token")
    ap.add_argument("--twilio-sid", default=None)
    ap.add_argument("--twilio-token", default=None)
    ap.add_argument("--template-params", type=int, default=None)
    args = ap.parse_args()
    srv = Server(args)
    try:
        sys.stdout.write("%d\n" % srv.server_address[1])
        sys.stdout.flush()
    except BrokenPipeError:
        pass                    # the starter stopped reading: keep serving
    threading.Timer(args.max_seconds, srv.shutdown).start()
    srv.serve_forever()
    srv.server_close()


if __name__ == "__main__":
    sys.exit(main())
