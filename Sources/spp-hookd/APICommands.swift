// SPDX-License-Identifier: MIT
import ArgumentParser
import Glibc
import Logging
import SPPHookCore
import SPPHookPOSIX
import SPPHookServer

/// How to reach SPP's API: the config's `api` section, or flags; the key from the config,
/// else the environment variable SPP_API_KEY.
struct APIOptions: ParsableArguments {
    @Option(name: .shortAndLong, help: "A configuration file with an \"api\" section.")
    var config: String?

    @Option(help: "Your SPP subdomain: builds https://NAME.spp.io/api/v1.")
    var subdomain: String?

    @Option(help: "The API base URL with its path prefix, e.g. https://acme.spp.io/api/v1.")
    var baseURL: String?

    @Option(help: "Sent as X-Api-Version (e.g. 2024-03-05).")
    var apiVersion: String?

    func client() throws -> SPPAPIClient {
        var api: APIConfig?
        if config != nil || (subdomain == nil && baseURL == nil) {
            api = try loadOrExit(config).config.api
        }
        if let subdomain {
            guard let url = APIConfig.baseURL(subdomain: subdomain) else { throw ValidationError("--subdomain: not a subdomain: \(subdomain)") }
            api = APIConfig(baseURL: url, key: api?.key ?? .environment("SPP_API_KEY"), apiVersion: api?.apiVersion)
        } else if let baseURL {
            guard let url = HTTPURL(baseURL) else { throw ValidationError("--base-url: not an http(s) URL: \(baseURL)") }
            api = APIConfig(baseURL: url, key: api?.key ?? .environment("SPP_API_KEY"), apiVersion: api?.apiVersion)
        }
        guard var api else {
            printError("spp-hookd: no API configured: add an \"api\" section to the config, or pass --subdomain or --base-url")
            throw ExitCode(1)
        }
        if let apiVersion { api.apiVersion = apiVersion }
        let key: String
        switch SecretResolver(environment: SecretResolver.processEnvironment()).resolve(api.key) {
        case .success(let k): key = k
        case .failure(let why):
            printError("spp-hookd: API key: \(why)")
            throw ExitCode(1)
        }
        var logger = Logger(label: "spp-hookd")
        logger.logLevel = .warning
        do {
            return try SPPAPIClient(config: api, key: key, logger: logger)
        } catch {
            printError("spp-hookd: \(error)")
            throw ExitCode(1)
        }
    }
}

/// Prints JSON: indented on a terminal, one compact line otherwise.
func printJSON(_ value: JSONValue) {
    print(isatty(1) == 1 ? JSONWriter.pretty(value) : JSONWriter.string(value))
}

/// Runs a call; exits 1 with SPP's message (and request id) unless it succeeded.
func call(_ body: () throws(SPPAPIClient.Failure) -> SPPAPIClient.Response) throws -> SPPAPIClient.Response {
    let r: SPPAPIClient.Response
    do {
        r = try body()
    } catch {
        printError("spp-hookd: \(error)")
        throw ExitCode(1)
    }
    guard (200..<300).contains(r.status) else {
        printError("spp-hookd: \(SPPAPIClient.failure(r))")
        throw ExitCode(1)
    }
    return r
}

struct APICommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "api",
        abstract: "Make an authorized call to SPP's API and print the response.",
        discussion: "The status goes to standard error, the body to standard output (indented JSON on a terminal). A status other than 2xx exits 1 with SPP's message."
    )

    @OptionGroup var options: APIOptions

    @Argument(help: "GET, POST, PUT, PATCH or DELETE.")
    var method: String

    @Argument(help: "Path relative to the base URL, e.g. /orders.")
    var path: String

    @Option(name: .customLong("query"), help: "A query parameter k=v (repeatable), e.g. filters[status][$eq]=Complete.")
    var queries: [String] = []

    @Option(name: .customLong("header"), help: "An extra header k:v (repeatable).")
    var headers: [String] = []

    @Option(help: "The request body: JSON text, or @FILE.")
    var data: String?

    func validate() throws {
        guard [HTTPMethod.get, .post, .put, .patch, .delete].contains(HTTPMethod(method.uppercased())) else {
            throw ValidationError("method must be GET, POST, PUT, PATCH or DELETE, not \(method)")
        }
    }

    func run() throws {
        let client = try options.client()
        let query = try queries.map { q -> (String, String) in
            guard let eq = q.firstIndex(of: "=") else { throw ValidationError("--query needs k=v, got \(q)") }
            return (String(q[..<eq]), String(q[q.index(after: eq)...]))
        }
        let extra = try headers.map { h -> (String, String) in
            guard let colon = h.firstIndex(of: ":") else { throw ValidationError("--header needs k:v, got \(h)") }
            return (String(h[..<colon]), String(h[h.index(after: colon)...]).trimmingOWS().description)
        }
        var body: [UInt8]?
        if let data {
            if data.hasPrefix("@") {
                do { body = try readWholeFile(String(data.dropFirst())) } catch {
                    throw ValidationError("--data: cannot read \(data.dropFirst()): \(error)")
                }
            } else {
                body = Array(data.utf8)
            }
        }
        let method = HTTPMethod(method.uppercased())
        let r: SPPAPIClient.Response
        do {
            r = try client.request(method, path, query: query, headers: extra, body: body)
        } catch {
            printError("spp-hookd: \(error)")
            throw ExitCode(1)
        }
        printError("HTTP \(r.status) \(HTTPResponse.reasonPhrase(r.status))" + (r.requestID.map { " (request \($0))" } ?? ""))
        if let json = r.json { printJSON(json) } else if !r.body.isEmpty { print(String(decoding: r.body, as: UTF8.self)) }
        if !(200..<300).contains(r.status) {
            printError("spp-hookd: \(SPPAPIClient.failure(r))")
            throw ExitCode(1)
        }
    }
}

struct OrderMessagesCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "order-messages",
        abstract: "Create, list and delete the messages of an SPP order.",
        subcommands: [Create.self, List.self, Delete.self]
    )

    struct Create: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Post a message to an order (POST /order_messages/{order}).")
        @OptionGroup var options: APIOptions
        @Option(help: "The order id or number.") var order: String
        @Option(help: "The message text.") var message: String
        @Option(help: "Post as this team member (user id).") var user: Int?
        @Flag(help: "Visible to staff only.") var staffOnly = false

        func run() throws {
            let client = try options.client()
            var fields: [JSONObject.Member] = [.init(key: "message", value: .string(message)), .init(key: "staff_only", value: .bool(staffOnly))]
            if let user { fields.append(.init(key: "user_id", value: .number(String(user)))) }
            let r = try call { () throws(SPPAPIClient.Failure) in
                try client.request(.post, "/order_messages/\(percentEncode(order))", body: JSONWriter.bytes(.object(JSONObject(fields))))
            }
            if let json = r.json { printJSON(json) }
        }
    }

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List an order's messages, newest first (GET /order_messages/{order}).")
        @OptionGroup var options: APIOptions
        @Option(help: "The order id or number.") var order: String
        @Option(help: "How many messages (pages are followed).") var limit = 10

        func run() throws {
            let client = try options.client()
            do {
                printJSON(.array(try client.list("/order_messages/\(percentEncode(order))", limit: limit)))
            } catch {
                printError("spp-hookd: \(error)")
                throw ExitCode(1)
            }
        }
    }

    struct Delete: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Delete a message (DELETE /order_messages/{message}).",
            discussion: "SPP deletes by message id: the order is not part of the path, so no --order is needed."
        )
        @OptionGroup var options: APIOptions
        @Option(help: "The message id.") var message: String

        func run() throws {
            let client = try options.client()
            _ = try call { () throws(SPPAPIClient.Failure) in try client.request("DELETE", "/order_messages/\(percentEncode(message))") }
            print("deleted message \(message)")
        }
    }
}
