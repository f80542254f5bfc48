#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""A fake SPP REST API for spp-hookd's tests, following SPP's documented behaviour.

usage: fake_spp.py RECORD_FILE API_KEY
Prints its port (127.0.0.1, kernel-chosen). Every request is appended to RECORD_FILE as a
JSON line (method, path, headers, body). All routes are under /api/v1 and require
"Authorization: Bearer API_KEY" (else 401 {"message":"Unauthenticated."}).
  GET    /api/v1/order_messages/{order}?limit=&page=   newest first; {data,links,meta}, 3 per page
                                                        (order 666AF315 has 7 messages; BARE answers a bare array)
  POST   /api/v1/order_messages/{order}                 JSON {message, user_id?, staff_only?} -> 201 message; 400 without message
  DELETE /api/v1/order_messages/{message id}            204, or 404
  GET    /api/v1/throttled                              429 (Retry-After: 1) the first time, then 200
Unknown orders and paths: 404 {"message":"Not found."}. Each response has X-Api-Identifier.
"""
import json, sys, threading, time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit, parse_qs, unquote

record_file, api_key = sys.argv[1], sys.argv[2]
lock = threading.RLock()  # reply() takes it too, from inside handlers that hold it
state = {"n": 0, "throttled": 0, "next_id": 100,
         "messages": {"666AF315": [{"id": i, "message": f"message {i}", "staff_only": False, "user_id": 1} for i in range(7, 0, -1)],
                      "D950634A_1": []}}


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *a):
        pass

    def reply(self, status, body=None, extra=None):
        with lock:
            state["n"] += 1
            rid = f"req-{state['n']}"
        data = b"" if body is None else json.dumps(body).encode()
        self.send_response(status)
        self.send_header("X-Api-Identifier", rid)
        for k, v in (extra or {}).items():
            self.send_header(k, v)
        if body is not None:
            self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def handle_any(self, method):
        body = self.rfile.read(int(self.headers.get("Content-Length", "0") or 0))
        with lock, open(record_file, "a") as f:
            f.write(json.dumps({"method": method, "path": self.path, "headers": dict(self.headers), "body": body.decode()}) + "\n")
        if self.headers.get("Authorization") != f"Bearer {api_key}":
            return self.reply(401, {"message": "Unauthenticated."})
        url = urlsplit(self.path)
        parts = [unquote(p) for p in url.path.split("/") if p]
        query = parse_qs(url.query)
        if parts[:2] != ["api", "v1"]:
            return self.reply(404, {"message": "Not found."})
        parts = parts[2:]
        if parts == ["throttled"] and method == "GET":
            with lock:
                state["throttled"] += 1
                first = state["throttled"] == 1
            return self.reply(429, {"message": "Too Many Attempts."}, {"Retry-After": "1"}) if first else self.reply(200, {"ok": True})
        if len(parts) == 2 and parts[0] == "order_messages":
            key = parts[1]
            if method == "GET":
                if key == "BARE":
                    return self.reply(200, [{"id": 1, "message": "bare"}])
                if key not in state["messages"]:
                    return self.reply(404, {"message": "Not found."})
                items = state["messages"][key]
                page = int(query.get("page", ["1"])[0])
                per = min(int(query.get("limit", ["3"])[0]), 3)
                chunk = items[(page - 1) * per: page * per]
                more = page * per < len(items)
                host = self.headers["Host"]
                nxt = f"http://{host}/api/v1/order_messages/{key}?limit={per}&page={page + 1}" if more else None
                return self.reply(200, {"data": chunk, "links": {"next": nxt}, "meta": {"current_page": page, "total": len(items)}})
            if method == "POST":
                if key not in state["messages"]:
                    return self.reply(404, {"message": "Not found."})
                try:
                    payload = json.loads(body or b"{}")
                except ValueError:
                    return self.reply(400, {"message": "Malformed JSON."})
                if not payload.get("message"):
                    return self.reply(400, {"message": "The message field is required."})
                with lock:
                    state["next_id"] += 1
                    msg = {"id": state["next_id"], "message": payload["message"], "staff_only": bool(payload.get("staff_only")),
                           "user_id": payload.get("user_id")}
                    state["messages"][key].insert(0, msg)
                return self.reply(201, msg)
            if method == "DELETE":
                with lock:
                    for msgs in state["messages"].values():
                        for m in msgs:
                            if str(m["id"]) == key:
                                msgs.remove(m)
                                return self.reply(204)
                return self.reply(404, {"message": "Not found."})
        return self.reply(404, {"message": "Not found."})

    def do_GET(self): self.handle_any("GET")
    def do_POST(self): self.handle_any("POST")
    def do_DELETE(self): self.handle_any("DELETE")
    def do_PUT(self): self.handle_any("PUT")
    def do_PATCH(self): self.handle_any("PATCH")


class Server(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request, client_address):
        pass


server = Server(("127.0.0.1", 0), Handler)
print(server.server_address[1], flush=True)
server.serve_forever()
