// SPDX-License-Identifier: MIT
import Foundation

/// nginx as an HTTPS receiver that offers HTTP/2 (ALPN) and answers `204`; its access log
/// records each request's protocol (`HTTP/2.0 POST /path 204`). One process
/// (`master_process off`): a master's workers would outlive a SIGKILL to it.
final class Nginx {
    private let process: Process
    let port: UInt16
    let accessLog: String

    init(dir: TemporaryDirectory, cert: String, key: String) throws {
        accessLog = dir.file("nginx-access.log")
        let root = dir.file("nginx")
        try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
        (process, port) = try launchOnFreePort("/usr/sbin/nginx") { [accessLog] port, attempt in
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
            return ["-c", conf, "-p", root]
        }
    }

    var requests: [String] {
        ((try? String(contentsOfFile: accessLog, encoding: .utf8)) ?? "").split(separator: "\n").map(String.init)
    }

    deinit {
        if process.isRunning {
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
        }
    }
}
