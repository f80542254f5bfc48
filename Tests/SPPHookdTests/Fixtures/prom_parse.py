#!/usr/bin/env python3
"""Fetches a Prometheus text exposition and parses it with the reference Python parser
(prometheus_client). Prints one JSON object: {"families": {name: type}, "samples":
[[name, labels, value], ...]}. Exits 2 when the parser rejects the text."""
import json
import sys
import urllib.request

from prometheus_client.parser import text_string_to_metric_families

url = sys.argv[1]
with urllib.request.urlopen(url, timeout=10) as response:
    content_type = response.headers.get("Content-Type", "")
    text = response.read().decode("utf-8")
try:
    families = list(text_string_to_metric_families(text))
except Exception as error:  # the parser's own error: the exposition is invalid
    print(f"parse error: {error}\n{text}", file=sys.stderr)
    sys.exit(2)
print(json.dumps({
    "contentType": content_type,
    "families": {f.name: f.type for f in families},
    "samples": [[s.name, s.labels, s.value] for f in families for s in f.samples],
}))
