#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""A receiver that checks bodies the way chat and automation services document them.

usage: chat_receiver.py RECORD_FILE     prints its port, then serves HTTP/1.1 on 127.0.0.1
       chat_receiver.py --selftest      checks the checks on known-good and known-bad bodies

The first path segment names the service (/slack/..., /discord/..., /teams/...,
/google-chat/..., /mattermost/..., /ntfy/, /n8n-zapier/...). A body the service would
refuse gets 400 with the reason (as the services do); an accepted one 200. Each request
is appended to RECORD_FILE as a JSON line: path, service, ok, reason, body.

What is checked, per the services' documentation:
  slack        JSON object; `text` (non-empty string, at most 40,000 characters) or
               `blocks` (1-50 blocks, each with a `type`; a section's text object is
               mrkdwn or plain_text, at most 3,000 characters). Text must be escaped:
               `&`, `<`, `>` only as `&amp;` `&lt;` `&gt;` or in `<...>` link/mention syntax.
  discord      `content` (at most 2,000 characters) or `embeds` (at most 10), one of them
               non-empty; embed title <= 256, description <= 4,096, <= 25 fields (name
               <= 256, value <= 1,024, both non-empty), footer text <= 2,048, author name
               <= 256, all embeds' text together <= 6,000; timestamp ISO 8601; username
               <= 80 characters and without "clyde" or "discord".
  teams        an Adaptive Card message: `type` "message", `attachments` non-empty, each
               with contentType application/vnd.microsoft.card.adaptive and `content`
               an AdaptiveCard (`type`, `version` "1.0"-"1.5", `body` of elements with a
               known `type`; TextBlock needs `text`, FactSet needs facts of title/value
               strings); or a legacy MessageCard (`@type`, `@context`, `summary` or
               `text`). At most 28 KB.
  google-chat  `text` non-empty, at most 4,096 characters (or `cardsV2` non-empty).
  mattermost   `text` non-empty (or `attachments`), at most 16,383 characters.
  ntfy         JSON publishing: POST to the server's root path (/); `topic` 1-64 of
               [-_A-Za-z0-9]; `message`, `title`, `click` strings; `tags` strings;
               `priority` an integer 1-5.
  n8n-zapier   a JSON object (a catch hook turns each top-level key into a field).
All: Content-Type application/json, a body that parses as JSON (UTF-8).
"""
import json, re, sys, threading
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class Reject(Exception):
    pass


def need(cond, why):
    if not cond:
        raise Reject(why)


def is_str(v, nonempty=False):
    return isinstance(v, str) and (not nonempty or v != "")


def slack_text_escaped(text):
    for m in re.finditer(r"&", text):
        need(re.match(r"&(amp|lt|gt);", text[m.start():]), "unescaped & in text")
    for m in re.finditer(r"<([^>]*)>?", text):
        inner = m.group(1)
        need(m.group(0).endswith(">") and re.match(r"(https?:|mailto:|@|#|!)", inner), "unescaped < in text")
    need(">" not in re.sub(r"<[^>]*>", "", text), "unescaped > in text")


def text_or(body, key, limit, alternative):
    """The message's `key` (a non-empty string of at most `limit` characters) or a non-empty
    `alternative` list, as most chat services take one or the other."""
    need(isinstance(body, dict), "body must be an object")
    text, alt = body.get(key), body.get(alternative)
    need(is_str(text, True) or (isinstance(alt, list) and alt), f"{key} or {alternative} is required")
    if text is not None:
        need(is_str(text) and len(text) <= limit, f"{key}: at most {limit} characters")
    return text, alt


def check_slack(body, rest):
    text, blocks = text_or(body, "text", 40000, "blocks")
    if text is not None:
        slack_text_escaped(text)
    if blocks is not None:
        need(isinstance(blocks, list) and 1 <= len(blocks) <= 50, "blocks must be 1-50 blocks")
        for b in blocks:
            need(isinstance(b, dict) and is_str(b.get("type"), True), "each block needs a type")
            if b["type"] == "section":
                t = b.get("text")
                need(isinstance(t, dict) or "fields" in b, "a section needs text or fields")
                if isinstance(t, dict):
                    need(t.get("type") in ("mrkdwn", "plain_text"), "section text type must be mrkdwn or plain_text")
                    need(is_str(t.get("text"), True) and len(t["text"]) <= 3000, "section text: 1-3000 characters")
                    if t["type"] == "mrkdwn":
                        slack_text_escaped(t["text"])


def check_discord(body, rest):
    content, embeds = text_or(body, "content", 2000, "embeds")
    if "username" in body:
        u = body["username"]
        need(is_str(u, True) and len(u) <= 80, "username: 1-80 characters")
        need("clyde" not in u.lower() and "discord" not in u.lower(), "username must not contain clyde or discord")
    total = 0
    for e in embeds or []:
        need(isinstance(e, dict), "an embed must be an object")
        for key, limit in (("title", 256), ("description", 4096)):
            if key in e:
                need(is_str(e[key], True) and len(e[key]) <= limit, f"embed {key}: 1-{limit} characters")
                total += len(e[key])
        fields = e.get("fields", [])
        need(isinstance(fields, list) and len(fields) <= 25, "embed fields: at most 25")
        for f in fields:
            need(is_str(f.get("name"), True) and len(f["name"]) <= 256, "field name: 1-256 characters")
            need(is_str(f.get("value"), True) and len(f["value"]) <= 1024, "field value: 1-1024 characters")
            total += len(f["name"]) + len(f["value"])
        if "footer" in e:
            need(is_str(e["footer"].get("text"), True) and len(e["footer"]["text"]) <= 2048, "footer text: 1-2048 characters")
            total += len(e["footer"]["text"])
        if "author" in e:
            need(is_str(e["author"].get("name"), True) and len(e["author"]["name"]) <= 256, "author name: 1-256 characters")
            total += len(e["author"]["name"])
        if "timestamp" in e:
            try:
                datetime.fromisoformat(e["timestamp"].replace("Z", "+00:00"))
            except Exception:
                raise Reject("embed timestamp must be ISO 8601")
    need(embeds is None or len(embeds) <= 10, "embeds: at most 10")
    need(total <= 6000, "embeds: at most 6000 characters in all")


ADAPTIVE_ELEMENTS = {"TextBlock", "FactSet", "ColumnSet", "Container", "Image", "RichTextBlock", "ActionSet", "ImageSet"}


def check_teams(body, rest, raw):
    need(len(raw) <= 28 * 1024, "message larger than 28 KB")
    need(isinstance(body, dict), "body must be an object")
    if body.get("@type") == "MessageCard":
        need(body.get("@context") in ("https://schema.org/extensions", "http://schema.org/extensions"), "MessageCard needs @context")
        need(is_str(body.get("summary"), True) or is_str(body.get("text"), True), "MessageCard needs summary or text")
        return
    need(body.get("type") == "message", 'type must be "message"')
    atts = body.get("attachments")
    need(isinstance(atts, list) and atts, "attachments must be a non-empty array")
    for a in atts:
        need(a.get("contentType") == "application/vnd.microsoft.card.adaptive", "contentType must be the adaptive card type")
        card = a.get("content")
        need(isinstance(card, dict) and card.get("type") == "AdaptiveCard", 'content.type must be "AdaptiveCard"')
        need(is_str(card.get("version")) and re.fullmatch(r"1\.[0-5]", card["version"]), "content.version must be 1.0-1.5")
        elements = card.get("body")
        need(isinstance(elements, list) and elements, "content.body must be a non-empty array")
        for el in elements:
            need(isinstance(el, dict) and el.get("type") in ADAPTIVE_ELEMENTS, f"unknown element type {el.get('type') if isinstance(el, dict) else el!r}")
            if el["type"] == "TextBlock":
                need(is_str(el.get("text")), "TextBlock needs text")
            if el["type"] == "FactSet":
                facts = el.get("facts")
                need(isinstance(facts, list) and facts, "FactSet needs facts")
                for f in facts:
                    need(is_str(f.get("title")) and is_str(f.get("value")), "a fact needs title and value strings")


def check_google_chat(body, rest):
    text_or(body, "text", 4096, "cardsV2")


def check_mattermost(body, rest):
    text_or(body, "text", 16383, "attachments")
    for k in ("username", "icon_url", "channel"):
        if k in body:
            need(is_str(body[k], True), f"{k} must be a non-empty string")


def check_ntfy(body, rest):
    need(rest == "/", "JSON messages are published to the server's root URL")
    need(isinstance(body, dict), "body must be an object")
    need(is_str(body.get("topic")) and re.fullmatch(r"[-_A-Za-z0-9]{1,64}", body["topic"]), "topic: 1-64 of [-_A-Za-z0-9]")
    for k in ("message", "title", "click", "icon"):
        if k in body:
            need(is_str(body[k]), f"{k} must be a string")
    if "tags" in body:
        need(isinstance(body["tags"], list) and all(is_str(t, True) for t in body["tags"]), "tags must be strings")
    if "priority" in body:
        p = body["priority"]
        need(isinstance(p, int) and not isinstance(p, bool) and 1 <= p <= 5, "priority must be an integer 1-5")


def check_catch_hook(body, rest):
    need(isinstance(body, dict) and body, "body must be a non-empty JSON object")


CHECKS = {"slack": check_slack, "discord": check_discord, "google-chat": check_google_chat,
          "mattermost": check_mattermost, "ntfy": check_ntfy, "n8n-zapier": check_catch_hook}


def check(path, content_type, raw):
    """Returns (service, reason or None)."""
    service, _, rest = path.lstrip("/").partition("/")
    rest = "/" + rest
    try:
        need((content_type or "").split(";")[0].strip().lower() == "application/json", "Content-Type must be application/json")
        try:
            body = json.loads(raw.decode("utf-8"))
        except Exception as e:
            raise Reject(f"body is not JSON: {e}")
        if service == "teams":
            check_teams(body, rest, raw)
        elif service in CHECKS:
            CHECKS[service](body, rest)
        else:
            raise Reject(f"no such service {service!r}")
        return service, None
    except Reject as r:
        return service, str(r)


def selftest():
    good = {
        "/slack/x": {"text": "a &amp; b &lt;c&gt; <https://x.example|link>"},
        "/discord/x": {"content": "x" * 2000},
        "/teams/x": {"type": "message", "attachments": [{"contentType": "application/vnd.microsoft.card.adaptive",
                     "content": {"type": "AdaptiveCard", "version": "1.4", "body": [{"type": "TextBlock", "text": "hi"}]}}]},
        "/google-chat/x": {"text": "hi"},
        "/mattermost/x": {"text": "hi"},
        "/ntfy/": {"topic": "spp-events", "message": "hi", "priority": 4, "tags": ["orders"]},
        "/n8n-zapier/x": {"event": "order.created"},
    }
    bad = [
        ("/slack/x", {"blocks": []}), ("/slack/x", {"text": "a & b"}), ("/slack/x", {"text": "<b>"}),
        ("/slack/x", {"text": "ok", "blocks": [{"type": "section", "text": {"type": "markdown", "text": "x"}}]}),
        ("/discord/x", {"content": "x" * 2001}), ("/discord/x", {"username": "x"}), ("/discord/x", {"embeds": [{"title": "t" * 257}]}),
        ("/discord/x", {"content": "x", "username": "Discord bot"}), ("/discord/x", {"embeds": [{"description": ""}]}),
        ("/teams/x", {"type": "message", "attachments": []}), ("/teams/x", {"text": "plain"}),
        ("/teams/x", {"type": "message", "attachments": [{"contentType": "application/vnd.microsoft.card.adaptive",
                      "content": {"type": "AdaptiveCard", "body": [{"type": "TextBlock", "text": "hi"}]}}]}),
        ("/google-chat/x", {"text": "x" * 4097}), ("/google-chat/x", {}),
        ("/mattermost/x", {"text": ""}), ("/ntfy/mytopic", {"topic": "t", "message": "m"}), ("/ntfy/", {"message": "m"}),
        ("/ntfy/", {"topic": "t", "priority": 9}), ("/n8n-zapier/x", [1, 2]), ("/n8n-zapier/x", {}),
    ]
    failures = []
    for path, body in good.items():
        _, why = check(path, "application/json", json.dumps(body).encode())
        if why:
            failures.append(f"good body refused at {path}: {why}")
    for path, body in bad:
        _, why = check(path, "application/json", json.dumps(body).encode())
        if not why:
            failures.append(f"bad body accepted at {path}: {body!r}"[:200])
    _, why = check("/slack/x", "text/plain", b'{"text":"x"}')
    if not why:
        failures.append("a text/plain body was accepted")
    print("\n".join(failures) or f"ok: {len(good)} good, {len(bad) + 1} bad bodies")
    sys.exit(1 if failures else 0)


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *a):
        pass

    def do_POST(self):
        raw = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        service, why = check(self.path, self.headers.get("Content-Type"), raw)
        with lock:
            with open(record_file, "a") as f:
                f.write(json.dumps({"path": self.path, "service": service, "ok": why is None, "reason": why,
                                    "body": raw.decode("utf-8", "replace")}) + "\n")
        status = 200 if why is None else 400
        reply = json.dumps({"ok": why is None, "error": why}).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(reply)))
        self.end_headers()
        self.wfile.write(reply)


if __name__ == "__main__":
    if sys.argv[1:] == ["--selftest"]:
        selftest()
    record_file = sys.argv[1]
    lock = threading.Lock()
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    print(server.server_address[1], flush=True)
    server.serve_forever()
