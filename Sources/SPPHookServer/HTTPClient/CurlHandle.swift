// SPDX-License-Identifier: MIT
import CCurl
import Glibc
import SPPHookCore
import SPPHookPOSIX

/// One libcurl easy handle: a request at a time, its connections kept alive between them
/// (``HTTPClient`` pools handles). Every request starts from `curl_easy_reset`, which keeps
/// live connections and the TLS session cache, so no option leaks from one to the next.
///
/// `@unchecked Sendable`: used by one thread at a time; the pool hands it over under its lock.
final class CurlHandle: @unchecked Sendable {
    /// What the callbacks collect while a transfer runs.
    private final class Collector {
        let maxBodyBytes: Int
        var body: [UInt8] = []
        var headers = HTTPHeaders()
        var tooLarge = false
        /// The final response's header section ended (its empty line arrived).
        var headersComplete = false
        init(maxBodyBytes: Int) { self.maxBodyBytes = maxBodyBytes }
    }

    /// `curl_global_init` once, before the first handle (thread-safe since 7.84).
    private static let initialized: Bool = curl_global_init(Int(CURL_GLOBAL_DEFAULT)) == CURLE_OK

    private let easy: UnsafeMutableRawPointer

    init?() {
        guard Self.initialized, let easy = curl_easy_init() else { return nil }
        self.easy = easy
    }

    deinit { curl_easy_cleanup(easy) }

    func perform(_ request: HTTPClientRequest, options: HTTPClient.Options) throws(HTTPClient.Failure) -> HTTPClient.Response {
        curl_easy_reset(easy)
        let collector = Collector(maxBodyBytes: options.maxBodyBytes)
        let context = Unmanaged.passUnretained(collector).toOpaque()
        var errorText = [CChar](repeating: 0, count: Int(CURL_ERROR_SIZE) + 1)
        var headerList: UnsafeMutablePointer<curl_slist>?
        // "Expect:" turns off curl's 100-continue for larger bodies: receivers answer at once.
        for (name, value) in request.headers + [("Expect", "")] {
            headerList = curl_slist_append(headerList, value.isEmpty ? "\(name):" : "\(name): \(value)")
        }
        defer { curl_slist_free_all(headerList) }
        let code: CURLcode = errorText.withUnsafeMutableBufferPointer { errorBuffer in
            var failed = configure(request, options: options, headers: headerList, context: context)
            if failed == CURLE_OK { failed = spp_curl_set_pointer(easy, CURLOPT_ERRORBUFFER, errorBuffer.baseAddress) }
            guard failed == CURLE_OK else { return failed }
            return curl_easy_perform(easy)
        }
        var status = 0
        _ = spp_curl_get_long(easy, CURLINFO_RESPONSE_CODE, &status)
        let response = HTTPClient.Response(status: status, headers: collector.headers, body: collector.body)
        guard code == CURLE_OK else {
            if collector.tooLarge { throw HTTPClient.Failure("response body larger than \(options.maxBodyBytes) bytes") }
            // RFC 9113 §8.1: an HTTP/2 server may answer before reading the whole request and
            // then reset the stream; curl 7.88 reports that reset as an error. A complete 2xx
            // head came first: the receiver took the event.
            if code == CURLE_HTTP2_STREAM, collector.headersComplete, (200..<300).contains(status) { return response }
            let text = errorText.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }
            throw failure(code, detail: String(decoding: text, as: UTF8.self))
        }
        return response
    }

    /// Sets every option of one transfer; the first error, or CURLE_OK.
    private func configure(
        _ request: HTTPClientRequest, options: HTTPClient.Options, headers: UnsafeMutablePointer<curl_slist>?,
        context: UnsafeMutableRawPointer
    ) -> CURLcode {
        var results: [CURLcode] = [
            spp_curl_set_string(easy, CURLOPT_URL, request.url.description),
            spp_curl_set_string(easy, CURLOPT_PROTOCOLS_STR, "http,https"),
            spp_curl_set_long(easy, CURLOPT_FOLLOWLOCATION, 0),
            spp_curl_set_long(easy, CURLOPT_NOSIGNAL, 1),
            spp_curl_set_long(easy, CURLOPT_TIMEOUT_MS, Int(options.timeoutSeconds * 1000)),
            spp_curl_set_long(easy, CURLOPT_HTTP_VERSION, CURL_HTTP_VERSION_2TLS),
            spp_curl_set_long(easy, CURLOPT_SSL_VERIFYPEER, 1),
            spp_curl_set_long(easy, CURLOPT_SSL_VERIFYHOST, 2),
            spp_curl_set_pointer(easy, CURLOPT_HTTPHEADER, headers),
            spp_curl_set_callback(easy, CURLOPT_WRITEFUNCTION, Self.onBody),
            spp_curl_set_pointer(easy, CURLOPT_WRITEDATA, context),
            spp_curl_set_callback(easy, CURLOPT_HEADERFUNCTION, Self.onHeader),
            spp_curl_set_pointer(easy, CURLOPT_HEADERDATA, context),
        ]
        if let caFile = options.caFile { results.append(spp_curl_set_string(easy, CURLOPT_CAINFO, caFile)) }
        // Without a proxy of its own, libcurl follows http_proxy, https_proxy and no_proxy.
        if let proxy = options.proxy { results.append(spp_curl_set_string(easy, CURLOPT_PROXY, proxy)) }
        switch request.method {
        case .get: results.append(spp_curl_set_long(easy, CURLOPT_HTTPGET, 1))
        case .head: results.append(spp_curl_set_long(easy, CURLOPT_NOBODY, 1))
        default:
            let body = request.body ?? []
            results.append(spp_curl_set_size(easy, CURLOPT_POSTFIELDSIZE_LARGE, curl_off_t(body.count)))
            results.append(body.withUnsafeBytes { spp_curl_set_pointer(easy, CURLOPT_COPYPOSTFIELDS, UnsafeMutableRawPointer(mutating: $0.baseAddress ?? UnsafeRawPointer(bitPattern: 1))) })
            if request.method != .post { results.append(spp_curl_set_string(easy, CURLOPT_CUSTOMREQUEST, request.method.name)) }
        }
        return results.first { $0 != CURLE_OK } ?? CURLE_OK
    }

    /// What went wrong, in curl's words, with the system's reason for a failed connect.
    private func failure(_ code: CURLcode, detail: String) -> HTTPClient.Failure {
        var osErrno = 0
        _ = spp_curl_get_long(easy, CURLINFO_OS_ERRNO, &osErrno)
        var text = detail.isEmpty ? String(cString: curl_easy_strerror(code)) : detail
        if osErrno != 0 { text += " (\(String(cString: strerror(Int32(osErrno)))))" }
        return HTTPClient.Failure(text)
    }

    private static let onBody: spp_curl_data_callback = { data, size, count, context in
        guard let data, let context else { return 0 }
        let collector = Unmanaged<Collector>.fromOpaque(context).takeUnretainedValue()
        let n = size * count
        guard collector.body.count + n <= collector.maxBodyBytes else {
            collector.tooLarge = true
            return 0  // aborts the transfer (CURLE_WRITE_ERROR)
        }
        data.withMemoryRebound(to: UInt8.self, capacity: n) { collector.body.append(contentsOf: UnsafeBufferPointer(start: $0, count: n)) }
        return n
    }

    /// One header line; a status line starts the headers over (an interim 1xx before the answer).
    private static let onHeader: spp_curl_data_callback = { data, size, count, context in
        guard let data, let context else { return 0 }
        let collector = Unmanaged<Collector>.fromOpaque(context).takeUnretainedValue()
        let n = size * count
        let line = data.withMemoryRebound(to: UInt8.self, capacity: n) { String(decoding: UnsafeBufferPointer(start: $0, count: n), as: UTF8.self) }
        if line.hasPrefix("HTTP/") {
            (collector.headers, collector.headersComplete) = (HTTPHeaders(), false)
        } else if line == "\r\n" || line == "\n" {
            collector.headersComplete = true
        } else if let colon = line.firstIndex(of: ":") {
            var value = line[line.index(after: colon)...]
            while let last = value.last, last.isNewline { value = value.dropLast() }
            collector.headers.add(name: String(line[..<colon]), value: String(String(value).trimmingOWS()))
        }
        return n
    }
}
