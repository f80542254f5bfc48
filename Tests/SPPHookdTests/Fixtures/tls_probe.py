#!/usr/bin/env python3
"""Connects to a TLS server the way a strict client does and reports what was negotiated:
tls_probe.py PORT CAFILE [--max-version 1.1] [--alpn h2,http/1.1] [--post PATH BODY]
Prints one JSON object: version, alpn, cipher, serial (of the server certificate), and
with --post the HTTP status and body of the answer. Exits 1 when the handshake fails."""
import json
import socket
import ssl
import sys

port, cafile = int(sys.argv[1]), sys.argv[2]
args = sys.argv[3:]
context = ssl.create_default_context(cafile=cafile)
if "--max-version" in args:
    version = args[args.index("--max-version") + 1]
    context.minimum_version = ssl.TLSVersion.MINIMUM_SUPPORTED
    context.maximum_version = {"1.1": ssl.TLSVersion.TLSv1_1, "1.2": ssl.TLSVersion.TLSv1_2}[version]
    context.set_ciphers("ALL:@SECLEVEL=0")
if "--alpn" in args:
    context.set_alpn_protocols(args[args.index("--alpn") + 1].split(","))
try:
    raw = socket.create_connection(("127.0.0.1", port), timeout=10)
    tls = context.wrap_socket(raw, server_hostname="localhost")
except (ssl.SSLError, OSError) as error:
    print(json.dumps({"error": str(error)}))
    sys.exit(1)
der = tls.getpeercert(binary_form=True)
result = {"version": tls.version(), "alpn": tls.selected_alpn_protocol(), "cipher": tls.cipher()[0],
          "serial": tls.getpeercert().get("serialNumber"), "certBytes": len(der)}
if "--post" in args:
    path, body = args[args.index("--post") + 1], args[args.index("--post") + 2].encode()
    tls.sendall(b"POST %s HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: %d\r\n"
                b"Connection: close\r\n\r\n" % (path.encode(), len(body)) + body)
    data = b""
    while True:
        chunk = tls.recv(65536)
        if not chunk:
            break
        data += chunk
    head, _, payload = data.partition(b"\r\n\r\n")
    result["status"] = int(head.split(b" ")[1])
    result["body"] = payload.decode()
print(json.dumps(result))
