#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""A webhook receiver for spp-hookd's forward-sink tests.

usage: receiver.py RECORD_FILE [--cert CERT --key KEY] [--secret whsec_...]
Prints the port it listens on (127.0.0.1, chosen by the kernel), then serves HTTP/1.1 with
keep-alive. Each request is appended to RECORD_FILE as one JSON line: path, headers, body,
client port, and whether its Standard Webhooks signature verifies (checked here with
Python's own hmac, independently of spp-hookd). Behaviour by path:
  /ok        200
  /flaky     500 (Retry-After: 0) the first time, then 200
  /throttle  429 (Retry-After: 1) the first time, then 200
  /bad       400
  /slow      waits 3 s, then 200
  /gather    waits (once, up to 10 s) until 4 requests to it are in at once, then 200;
             records the most it saw at once as "concurrent"
  /chunked   200 with a well-formed chunked body
  /badchunk  200 with a chunked body whose chunk is not followed by CRLF
  /badsize   200 with a chunked body whose size is "+5" (not a hex number)
"""
import base64, hashlib, hmac, json, ssl, sys, threading, time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

record_file = sys.argv[1]
args = sys.argv[2:]
opts = dict(zip(args[::2], args[1::2]))
secret = opts.get("--secret")
seen = {}
lock = threading.Lock()
gathering = threading.Condition()
gather = {"inside": 0, "peak": 0, "gave_up": False}


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *a):
        pass

    def gather(self):
        with gathering:
            gather["inside"] += 1
            gather["peak"] = max(gather["peak"], gather["inside"])
            gathering.notify_all()
            if not gather["gave_up"] and not gathering.wait_for(lambda: gather["peak"] >= 4, timeout=10):
                gather["gave_up"] = True  # the others do not wait again
            gather["inside"] -= 1
            return gather["peak"]

    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        sig_ok = None
        if secret:
            key = base64.b64decode(secret[len("whsec_"):])
            signed = f"{self.headers['webhook-id']}.{self.headers['webhook-timestamp']}.".encode() + body
            expected = "v1," + base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()
            sig_ok = hmac.compare_digest(expected, self.headers.get("webhook-signature", ""))
        concurrent = self.gather() if self.path == "/gather" else None
        with lock:
            count = seen.get(self.path, 0) + 1
            seen[self.path] = count
            with open(record_file, "a") as f:
                f.write(json.dumps({"path": self.path, "headers": dict(self.headers), "body": body.decode(),
                                    "client_port": self.client_address[1], "signature_ok": sig_ok,
                                    "concurrent": concurrent, "at": time.time()}) + "\n")
        status, extra = 200, {}
        if self.path == "/flaky" and count == 1:
            status, extra = 500, {"Retry-After": "0"}
        elif self.path == "/throttle" and count == 1:
            status, extra = 429, {"Retry-After": "1"}
        elif self.path == "/bad":
            status = 400
        elif self.path == "/moved":
            status, extra = 307, {"Location": "/ok?redirected=1"}
        elif self.path == "/slow":
            time.sleep(3)
        chunked = {"/chunked": b"5\r\nhello\r\n0\r\n\r\n", "/badchunk": b"5\r\nhelloXX0\r\n\r\n",
                   "/badsize": b"+5\r\nhello\r\n0\r\n\r\n"}.get(self.path)
        if chunked is not None:
            self.send_response(200)
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            self.wfile.write(chunked)
            return
        reply = json.dumps({"status": status}).encode()
        self.send_response(status)
        for k, v in extra.items():
            self.send_header(k, v)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(reply)))
        self.end_headers()
        self.wfile.write(reply)


class Server(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request, client_address):
        pass  # a client that gave up (a timeout test) is expected, not an error


server = Server(("127.0.0.1", 0), Handler)
if "--cert" in opts:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(opts["--cert"], opts["--key"])
    server.socket = context.wrap_socket(server.socket, server_side=True)
print(server.server_address[1], flush=True)
server.serve_forever()
