import Foundation
import Hummingbird
import Sagas

/// A request's query string as name-value pairs, in order, percent-decoded (`+` is a space, as forms send it).
struct SagaQueryItems: Sendable {
    var items: [(name: String, value: String)]

    init(_ query: String?) {
        items = Self.parse(query ?? "")
    }

    /// Pairs of a query string or an `application/x-www-form-urlencoded` body.
    static func parse(_ text: String) -> [(name: String, value: String)] {
        text.split(separator: "&").map { pair -> (name: String, value: String) in
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            func decode(_ s: Substring) -> String {
                let spaced = s.replacingOccurrences(of: "+", with: " ")
                return spaced.removingPercentEncoding ?? spaced
            }
            return (decode(parts[0]), parts.count > 1 ? decode(parts[1]) : "")
        }
    }

    func first(_ name: String) -> String? {
        items.first { $0.name == name }?.value
    }

    func all(_ name: String) -> [String] {
        items.filter { $0.name == name }.map(\.value)
    }

    /// Refuses a parameter the endpoint does not take (400 `invalid_request`).
    func check(allowed: [String]) throws {
        for item in items where !allowed.contains(item.name) {
            throw SagaServerError(
                .invalidRequest,
                "unknown query parameter '\(String(item.name.prefix(64)))'; this endpoint takes "
                    + (allowed.isEmpty ? "none" : allowed.joined(separator: ", ")),
                status: .badRequest
            )
        }
    }

    /// `true`/`false` (also `1`/`0`, and an empty value as set), or `nil` when absent.
    func flag(_ name: String) throws -> Bool? {
        guard let value = first(name) else { return nil }
        switch value.lowercased() {
        case "", "true", "1", "yes", "on": return true
        case "false", "0", "no", "off": return false
        default:
            throw SagaServerError(.invalidRequest, "\(name) must be true or false", status: .badRequest)
        }
    }
}

extension SagaServer {
    /// The filters of `GET /v1/sagas` (and of the dashboard's saga list), as `saga list` takes them.
    static let sagaListParameters = ["status", "workflow", "key", "since", "until", "stuck", "hasIntervention", "limit", "after"]

    /// The query of a saga list request; each filter as `saga list`'s option of the same name.
    ///
    /// - Returns: the query, or `nil` when the filters contradict each other and no saga can match.
    /// - Throws: 400 `invalid_request` for an unknown status, workflow reference, time or limit.
    static func sagaQuery(_ items: SagaQueryItems, now: Date) throws -> SagaQuery? {
        func bad(_ message: String) -> SagaServerError {
            SagaServerError(.invalidRequest, message, status: .badRequest)
        }
        var statuses: [SagaStatus] = []
        for text in items.all("status") {
            for part in text.split(separator: ",") where !part.isEmpty {
                guard let status = SagaStatus(rawValue: String(part)) else {
                    throw bad(
                        "unknown status '\(String(part.prefix(40)))'; expected one of "
                            + SagaStatus.allCases.map(\.rawValue).joined(separator: ", ")
                    )
                }
                statuses.append(status)
            }
        }
        // Filters combine with AND: hasIntervention with statuses that leave needs_intervention out matches nothing.
        var matchesNothing = false
        if try items.flag("hasIntervention") == true {
            if !statuses.isEmpty && !statuses.contains(.needsIntervention) { matchesNothing = true }
            statuses = [.needsIntervention]
        }
        var limit = 50
        if let text = items.first("limit") {
            guard let n = Int(text), n >= 1, n <= 1000 else { throw bad("limit must be 1 to 1000") }
            limit = n
        }
        var query = SagaQuery(statuses: statuses, limit: limit)
        if let workflow = items.first("workflow"), !workflow.isEmpty {
            if let at = workflow.lastIndex(of: "@") {
                let name = String(workflow[..<at])
                guard let version = Int(workflow[workflow.index(after: at)...]), version >= 1, !name.isEmpty else {
                    throw bad("workflow must be NAME or NAME@VERSION with a positive version")
                }
                query.workflow = name
                query.version = version
            } else {
                query.workflow = workflow
            }
        }
        if let key = items.first("key"), !key.isEmpty { query.key = key }
        if let since = items.first("since"), !since.isEmpty { query.createdSince = try time(since, "since", now: now) }
        if let until = items.first("until"), !until.isEmpty { query.createdUntil = try time(until, "until", now: now) }
        if try items.flag("stuck") == true { query.stuckAt = now }
        if let after = items.first("after"), !after.isEmpty { query.after = after }
        return matchesNothing ? nil : query
    }

    /// A duration ago (`2h`) or an ISO 8601 time, as `saga list --since` takes it.
    static func time(_ text: String, _ name: String, now: Date) throws -> Date {
        if let duration = SagaDuration.parse(text) {
            let seconds = Double(SagaDuration.milliseconds(duration)) / 1000
            return now.addingTimeInterval(-min(seconds, 1e11))
        }
        for options in [
            [ISO8601DateFormatter.Options.withInternetDateTime, .withFractionalSeconds], [.withInternetDateTime],
            [.withFullDate],
        ] {
            let formatter = ISO8601DateFormatter()
            formatter.formatOptions = ISO8601DateFormatter.Options(options)
            if let date = formatter.date(from: text) { return date }
        }
        throw SagaServerError(
            .invalidRequest,
            "\(name): expected a duration ago (30m, 2h, 7d) or an ISO 8601 time (2026-12-01T08:00:00Z)",
            status: .badRequest
        )
    }
}
