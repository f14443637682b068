import Foundation

/// The dashboard's HTML builder: one escaping function, ``escape(_:)``, through which every piece of text reaches
/// a page (saga ids, inputs, outputs and errors are user data and may hold `<script>`). Markup is written only
/// by this module's own code; ``Text`` values are escaped when they are interpolated, so a page cannot forget to.
enum SagaHTML {
    /// Escapes text for an HTML element body or a double-quoted attribute value.
    static func escape(_ text: String) -> String {
        var out = ""
        out.reserveCapacity(text.utf8.count)
        for c in text.unicodeScalars {
            switch c {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&#39;"
            default: out.unicodeScalars.append(c)
            }
        }
        return out
    }

    /// Percent-encodes text for a URL query value or a path segment.
    static func queryEscape(_ text: String) -> String {
        var allowed = CharacterSet.alphanumerics
        allowed.insert(charactersIn: "-._~")
        return text.addingPercentEncoding(withAllowedCharacters: allowed) ?? ""
    }
}

/// A fragment of markup that is already safe: built from literals and escaped text only.
struct HTML: Sendable, ExpressibleByStringInterpolation, CustomStringConvertible {
    private(set) var markup: String

    init(stringLiteral value: String) { markup = value }
    init(stringInterpolation: Interpolation) { markup = stringInterpolation.markup }
    private init(markup: String) { self.markup = markup }

    var description: String { markup }

    static func + (lhs: HTML, rhs: HTML) -> HTML { HTML(markup: lhs.markup + rhs.markup) }

    /// Joins fragments.
    static func join(_ parts: [HTML], separator: HTML = "") -> HTML {
        HTML(markup: parts.map(\.markup).joined(separator: separator.markup))
    }

    struct Interpolation: StringInterpolationProtocol {
        var markup = ""
        init(literalCapacity: Int, interpolationCount: Int) { markup.reserveCapacity(literalCapacity * 2) }
        mutating func appendLiteral(_ literal: String) { markup += literal }
        /// Text is escaped: the only way a `String` enters a page.
        mutating func appendInterpolation(_ text: String) { markup += SagaHTML.escape(text) }
        mutating func appendInterpolation(_ number: Int) { markup += String(number) }
        mutating func appendInterpolation(_ fragment: HTML) { markup += fragment.markup }
        mutating func appendInterpolation(_ fragments: [HTML]) { markup += fragments.map(\.markup).joined() }
        /// A URL query value or path segment (percent-encoded, then escaped for the attribute).
        mutating func appendInterpolation(query text: String) { markup += SagaHTML.escape(SagaHTML.queryEscape(text)) }
    }
}
