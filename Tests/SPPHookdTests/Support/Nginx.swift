// SPDX-License-Identifier: MIT
import Foundation

/// nginx as an HTTPS receiver that offers HTTP/2 (ALPN) and answers `204`; its access log
/// records each request's protocol (`HTTP/2.0 POST /path 204`).
final class Nginx {
    private var process: Process?
    private(set) var port: UInt16 = 0
    let accessLog: String

    init(dir: TemporaryDirectory, cert: String, key: String) throws {
        accessLog = dir.file("nginx-access.log")
        let root = dir.file("nginx")
        try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
        // nginx binds the port its config names: a port free a moment ago, tried again if taken.
        for attempt in 0..<5 {
            let port = try freePort()
            let conf = "\(root)/nginx-\(attempt).conf"
            try """
                master_process off;
                daemon off;
                pid \(root)/nginx-\(attempt).pid;
                error_log \(root)/error.log;
                events { worker_connections 64; }
                http {
                    log_format protocol '$server_protocol $request_method $request_uri $status';
                    access_log \(accessLog) protocol;
                    client_body_temp_path \(root)/body;
                    proxy_temp_path \(root)/proxy;
                    fastcgi_temp_path \(root)/fastcgi;
                    uwsgi_temp_path \(root)/uwsgi;
                    scgi_temp_path \(root)/scgi;
                    server {
                        listen 127.0.0.1:\(port) ssl http2;
                        ssl_certificate \(cert);
                        ssl_certificate_key \(key);
                        location / { return 204; }
                    }
                }
                """.write(toFile: conf, atomically: true, encoding: .utf8)
            let p = Process()
            p.executableURL = URL(fileURLWithPath: "/usr/sbin/nginx")
            p.arguments = ["-c", conf, "-p", root]
            p.standardOutput = FileHandle.nullDevice
            p.standardError = FileHandle.nullDevice
            try p.run()
            try waitFor(10) { !p.isRunning || (try? RawHTTPClient(port: port)) != nil }
            if p.isRunning {
                (process, self.port) = (p, port)
                return
            }
        }
        throw DaemonError(message: "nginx did not start")
    }

    var requests: [String] {
        ((try? String(contentsOfFile: accessLog, encoding: .utf8)) ?? "").split(separator: "\n").map(String.init)
    }

    deinit {
        if let process, process.isRunning {
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
        }
    }
}
