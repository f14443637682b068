// Templates in an http action's `url`: substituted values are percent-encoded so that data cannot change the
// request's path or query (`../../_control`, `1?admin=1`).

extension Template {
    /// Resolves an action's specification for an attempt. For an `http` action, the templates of `url` are
    /// resolved by ``resolveURL(_:in:secrets:)``; everything else as ``resolve(_:in:)`` does.
    ///
    /// - Throws: `SagaError` with code `.templateError`.
    public static func resolve(_ action: StepAction, in context: Context) throws(SagaError) -> Resolution {
        guard action.kind == .http, case .object(var fields) = action.spec, case .string(let url)? = fields["url"] else {
            return try resolve(action.spec, in: context)
        }
        var secrets: [String] = []
        fields["url"] = nil
        guard case .object(var resolved) = try resolve(.object(fields), in: context, secrets: &secrets) else {
            preconditionFailure("an object resolves to an object")
        }
        resolved["url"] = .string(try resolveURL(url, in: context, secrets: &secrets))
        return Resolution(value: .object(resolved), secrets: secrets)
    }

    /// The bytes a substituted value keeps in a URL: RFC 3986's unreserved characters. Everything else (`/`, `?`,
    /// `#`, `&`, `=`, `%`, `+`, spaces, non-ASCII) is percent-encoded.
    static func isUnreservedURLByte(_ b: UInt8) -> Bool {
        (0x30...0x39).contains(b) || (0x41...0x5A).contains(b) || (0x61...0x7A).contains(b)
            || b == 0x2D || b == 0x2E || b == 0x5F || b == 0x7E
    }

    /// `s` percent-encoded as one path segment or one query value.
    public static func percentEncoded(_ s: String) -> String {
        let hex = Array("0123456789ABCDEF".utf8)
        var out: [UInt8] = []
        out.reserveCapacity(s.utf8.count)
        for b in s.utf8 {
            if isUnreservedURLByte(b) {
                out.append(b)
            } else {
                out.append(UInt8(ascii: "%"))
                out.append(hex[Int(b >> 4)])
                out.append(hex[Int(b & 0xF)])
            }
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// Resolves the templates of a URL.
    ///
    /// - A template that starts the URL (`${input.shop}/orders`) is inserted as it is: it gives the scheme, the
    ///   host and any base path, which only the workflow's author or operator should control.
    /// - `${raw:…}` is inserted as it is, anywhere.
    /// - Every other template is percent-encoded (``percentEncoded(_:)``): in the path it stays one segment, after
    ///   `?` one query value. A value that would make a whole path segment empty, `.` or `..` fails the attempt.
    ///
    /// - Throws: `SagaError` with code `.templateError`.
    public static func resolveURL(_ url: String, in context: Context, secrets: inout [String]) throws(SagaError) -> String {
        let segments = try segments(of: url)
        var out: [UInt8] = []
        // Encoded insertions that could form a dot or empty segment: byte range, and the template.
        var suspicious: [(range: Range<Int>, placeholder: Placeholder)] = []
        for (index, segment) in segments.enumerated() {
            switch segment {
            case .text(let t):
                out.append(contentsOf: t.utf8)
            case .template(let p):
                let text = try lookup(p, in: context, secrets: &secrets).displayString
                if p.raw || index == 0 {
                    out.append(contentsOf: text.utf8)
                } else {
                    let encoded = percentEncoded(text)
                    let start = out.count
                    out.append(contentsOf: encoded.utf8)
                    if encoded.isEmpty || encoded == "." || encoded == ".." {
                        suspicious.append((start..<out.count, p))
                    }
                }
            }
        }
        if !suspicious.isEmpty, let path = pathRange(of: out) {
            for (range, placeholder) in suspicious where path.contains(range.lowerBound) || range.lowerBound == path.upperBound {
                let before = range.lowerBound == 0 ? nil : out[range.lowerBound - 1]
                let after = range.upperBound < out.count ? out[range.upperBound] : nil
                let startsSegment = before == UInt8(ascii: "/")
                let endsSegment = after == nil || after == UInt8(ascii: "/") || after == UInt8(ascii: "?")
                    || after == UInt8(ascii: "#")
                if startsSegment && endsSegment && range.upperBound <= path.upperBound {
                    let what = range.isEmpty ? "an empty path segment" : "the path segment '\(String(decoding: out[range], as: UTF8.self))'"
                    throw SagaError(
                        .templateError,
                        "template \(placeholder) in the url gives \(what), which would change the request's path",
                        sagaID: context.sagaID
                    )
                }
            }
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// The byte range of a URL's path: after `scheme://authority`, up to `?`, `#` or the end.
    private static func pathRange(of url: [UInt8]) -> Range<Int>? {
        let slash = UInt8(ascii: "/")
        var i = 0
        // scheme "://"
        while i + 2 < url.count, !(url[i] == UInt8(ascii: ":") && url[i + 1] == slash && url[i + 2] == slash) { i += 1 }
        guard i + 2 < url.count else { return nil }
        i += 3
        while i < url.count, url[i] != slash, url[i] != UInt8(ascii: "?"), url[i] != UInt8(ascii: "#") { i += 1 }
        let start = i
        while i < url.count, url[i] != UInt8(ascii: "?"), url[i] != UInt8(ascii: "#") { i += 1 }
        return start..<i
    }
}
