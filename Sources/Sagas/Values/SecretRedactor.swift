public import Foundation

/// Replaces secrets, and every piece of them a target may echo, with `***`.
///
/// A secret is a value of at least ``minimumLength`` characters read from `${env.NAME}`. What is redacted, in any
/// string (and any object key or number) of an outcome, a log message or log metadata:
///
/// - the secret itself, and the pieces of it a message leaves: every run of ``anywhereLength`` bytes or more that
///   occurs in the secret; and a shorter run (``fragmentLength`` bytes or more) where a cut or a line break explains
///   it: a prefix of the secret at the end of a line or before `…` (a 200-character snippet), a suffix at the start
///   of a line (the tail of stderr), a whole line (a PEM key printed to stderr, a token wrapped at 64 columns). A
///   few characters that data shares with a secret (`https://`, `-----BEGIN`) are left alone;
/// - the same after percent-decoding the text (`AbC%2BdEf%2FGhI%3D`, `+` for a space, upper- or lower-case hex)
///   and after JSON-unescaping it (`\/`, `\u002b`, `\n`), and both in either order;
/// - the secret's base64 encoding (standard and URL-safe, at every alignment, with or without padding);
/// - a prefix of the secret of 4 or more characters just before `…`, where a message was cut;
/// - a line of a multi-line secret too short for a window (`AB==` ending a PEM body) right after a redacted line.
///
/// Shorter values are not treated as secrets: `acme` cannot be told apart from data such as `acme-17`, and
/// redacting it would corrupt what later steps read.
public struct SecretRedactor: Sendable {
    /// The shortest value from `${env.NAME}` that is a secret.
    public static let minimumLength = 8
    /// The shortest piece of a secret that is recognised (where a cut or a line break explains it; see
    /// ``anywhereLength`` for pieces redacted wherever they are).
    public static let fragmentLength = 8
    /// What replaces a secret.
    public static let mask = "***"

    /// The secrets, longest first.
    public let secrets: [String]
    /// Every `fragmentLength`-byte window of every form of every secret, packed into 64 bits.
    private let windows: Set<UInt64>
    /// A 65,536-bit filter of `windows`, so that most windows of a text cost no set lookup.
    private let filter: [UInt64]
    /// Whether a secret holds a space (only then is `+` read as a percent-encoded space).
    private let hasSpace: Bool
    /// The forms whose prefixes are redacted before a cut (`…`).
    private let forms: [[UInt8]]
    /// Lines of multi-line secrets too short for a window (the last line of a PEM body, `AB==`): redacted where
    /// they follow a redacted line.
    private let shortLines: [[UInt8]]

    public static let none = SecretRedactor(secrets: [])

    public init(secrets: [String]) {
        let kept = Array(Set(secrets.filter { $0.count >= SecretRedactor.minimumLength })).sorted { $0.count > $1.count }
        self.secrets = kept
        var forms: [[UInt8]] = []
        for secret in kept {
            let bytes = Array(secret.utf8)
            forms.append(bytes)
            forms.append(contentsOf: SecretRedactor.base64Cores(of: bytes))
        }
        var windows = Set<UInt64>()
        for form in forms where form.count >= SecretRedactor.fragmentLength {
            for i in 0...(form.count - SecretRedactor.fragmentLength) {
                windows.insert(SecretRedactor.pack(form, at: i))
            }
        }
        self.windows = windows
        var filter = [UInt64](repeating: 0, count: 1024)
        for w in windows {
            let h = SecretRedactor.filterSlot(w)
            filter[h >> 6] |= 1 << UInt64(h & 63)
        }
        self.filter = filter
        self.hasSpace = kept.contains { $0.contains(" ") }
        self.forms = forms.filter { $0.count >= 4 }
        self.shortLines = kept.filter { $0.contains(where: \.isNewline) }.flatMap { secret in
            secret.split(whereSeparator: \.isNewline).map { Array($0.trimmingCharacters(in: .whitespaces).utf8) }
                .filter { !$0.isEmpty && $0.count < SecretRedactor.fragmentLength }
        }
    }

    public var isEmpty: Bool { secrets.isEmpty }

    // MARK: Strings

    /// `text` with every secret, and every form and piece of one, replaced by `***`.
    public func redact(_ text: String) -> String {
        guard !isEmpty else { return text }
        let bytes = Array(text.utf8)
        guard bytes.count >= 4 else { return text }
        var marked = [Bool](repeating: false, count: bytes.count)
        var any = false
        for view in SecretRedactor.views(of: bytes, plusIsSpace: hasSpace) {
            if mark(view, into: &marked) { any = true }
        }
        if markPrefixesBeforeCuts(bytes, into: &marked) { any = true }
        guard any else { return text }
        markShortLinesAfterRedactions(bytes, into: &marked)
        // Whole characters only.
        for i in bytes.indices where marked[i] {
            var j = i
            while j > 0, bytes[j] & 0xC0 == 0x80, !marked[j - 1] { marked[j - 1] = true; j -= 1 }
        }
        for i in bytes.indices.dropFirst() where marked[i - 1] && !marked[i] && bytes[i] & 0xC0 == 0x80 {
            marked[i] = true
        }
        var out: [UInt8] = []
        out.reserveCapacity(bytes.count)
        var k = 0
        while k < bytes.count {
            if marked[k] {
                out.append(contentsOf: SecretRedactor.mask.utf8)
                while k < bytes.count, marked[k] { k += 1 }
            } else {
                out.append(bytes[k])
                k += 1
            }
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// Marks the original bytes behind each run of windows of `view` that occur in a secret, when the run is a
    /// piece of a secret rather than data that happens to share a few characters with one (`https://`): a run of
    /// ``anywhereLength`` bytes or more, a run holding a whole form of a secret, or a shorter run that a cut or a
    /// line break explains (a prefix of a secret ending at a cut or a line's end, a suffix starting at a line's
    /// start, a whole line).
    private func mark(_ view: View, into marked: inout [Bool]) -> Bool {
        let n = SecretRedactor.fragmentLength
        let bytes = view.bytes
        guard bytes.count >= n else { return false }
        var found = false
        var window: UInt64 = 0
        var runStart = -1
        var runEnd = -1
        func close() {
            guard runStart >= 0 else { return }
            defer { runStart = -1 }
            guard isPiece(bytes, runStart..<runEnd) else { return }
            found = true
            for k in view.start(runStart)..<view.end(runEnd - 1) { marked[k] = true }
        }
        filter.withUnsafeBufferPointer { filter in
            bytes.withUnsafeBufferPointer { bytes in
                for i in 0..<bytes.count {
                    window = (window << 8) | UInt64(bytes[i])
                    guard i >= n - 1 else { continue }
                    let h = SecretRedactor.filterSlot(window)
                    guard filter[h >> 6] & (1 << UInt64(h & 63)) != 0, windows.contains(window) else { continue }
                    let first = i - (n - 1)
                    if runStart < 0 || first > runEnd { close(); runStart = first }
                    runEnd = i + 1
                }
            }
        }
        close()
        return found
    }

    @inline(__always)
    static func filterSlot(_ w: UInt64) -> Int {
        let mixed = (w ^ (w >> 23) ^ (w >> 41)) &* 0x9E37_79B9_7F4A_7C15
        return Int(truncatingIfNeeded: mixed >> 48)
    }

    /// Runs this long that occur in a secret are redacted wherever they are.
    public static let anywhereLength = 16

    private func isPiece(_ bytes: [UInt8], _ run: Range<Int>) -> Bool {
        if run.count >= SecretRedactor.anywhereLength { return true }
        let piece = bytes[run]
        for form in forms where form.count <= run.count {
            if form.count == run.count ? piece.elementsEqual(form) : piece.firstRange(of: form) != nil { return true }
        }
        let atStart = SecretRedactor.isLineStart(bytes, run.lowerBound)
        let atEnd = SecretRedactor.isLineEnd(bytes, run.upperBound)
        if atStart && atEnd { return true }
        for form in forms where form.count > run.count {
            if atEnd && form.starts(with: piece) { return true }
            if atStart && form.suffix(run.count).elementsEqual(piece) { return true }
        }
        return false
    }

    /// At the start of the text, or after a line break, ` | ` (how the command executor joins lines) or `: ` (where
    /// a message quotes what a target printed).
    static func isLineStart(_ b: [UInt8], _ i: Int) -> Bool {
        if i == 0 { return true }
        if b[i - 1] == 0x0A || b[i - 1] == 0x0D { return true }
        if i >= 2 && b[i - 2] == UInt8(ascii: ":") && b[i - 1] == 0x20 { return true }
        return i >= 3 && b[i - 3] == 0x20 && b[i - 2] == UInt8(ascii: "|") && b[i - 1] == 0x20
    }

    /// At the end of the text, before a line break, ` | ` or `…` (a cut).
    static func isLineEnd(_ b: [UInt8], _ i: Int) -> Bool {
        if i == b.count { return true }
        if b[i] == 0x0A || b[i] == 0x0D { return true }
        if i + 3 <= b.count, b[i] == 0xE2, b[i + 1] == 0x80, b[i + 2] == 0xA6 { return true }
        return i + 3 <= b.count && b[i] == 0x20 && b[i + 1] == UInt8(ascii: "|") && b[i + 2] == 0x20
    }

    /// A prefix (4 bytes or more) of a secret's form just before `…`: what a cut left.
    private func markPrefixesBeforeCuts(_ bytes: [UInt8], into marked: inout [Bool]) -> Bool {
        let ellipsis: [UInt8] = [0xE2, 0x80, 0xA6]
        var found = false
        var i = 0
        while i + 3 <= bytes.count {
            if bytes[i] == ellipsis[0], bytes[i + 1] == ellipsis[1], bytes[i + 2] == ellipsis[2] {
                for form in forms {
                    var k = min(form.count, i)
                    while k >= 4 {
                        if bytes[(i - k)..<i].elementsEqual(form[0..<k]) {
                            for m in (i - k)..<i { marked[m] = true }
                            found = true
                            break
                        }
                        k -= 1
                    }
                }
                i += 3
            } else {
                i += 1
            }
        }
        return found
    }

    /// A short line of a multi-line secret right after a redacted stretch (past spaces, ` | `, line breaks or
    /// `\n` escapes), ending where a token would.
    private func markShortLinesAfterRedactions(_ bytes: [UInt8], into marked: inout [Bool]) {
        guard !shortLines.isEmpty else { return }
        var i = 1
        while i < bytes.count {
            guard marked[i - 1], !marked[i] else { i += 1; continue }
            var q = i
            while q < bytes.count {
                let b = bytes[q]
                if b == 0x20 || b == 0x09 || b == 0x0A || b == 0x0D || b == UInt8(ascii: "|") {
                    q += 1
                } else if b == UInt8(ascii: "\\"), q + 1 < bytes.count, bytes[q + 1] == UInt8(ascii: "n") || bytes[q + 1] == UInt8(ascii: "r") {
                    q += 2
                } else {
                    break
                }
            }
            for line in shortLines where q + line.count <= bytes.count && bytes[q..<(q + line.count)].elementsEqual(line) {
                let end = q + line.count
                let boundary = end == bytes.count || !SecretRedactor.isTokenByte(bytes[end])
                if boundary {
                    for k in q..<end { marked[k] = true }
                    break
                }
            }
            i = q + 1
        }
    }

    /// Letters, digits and the base64 punctuation: what a token is made of.
    static func isTokenByte(_ b: UInt8) -> Bool {
        (0x30...0x39).contains(b) || (0x41...0x5A).contains(b) || (0x61...0x7A).contains(b)
            || b == UInt8(ascii: "+") || b == UInt8(ascii: "/") || b == UInt8(ascii: "=") || b == UInt8(ascii: "-")
            || b == UInt8(ascii: "_")
    }

    // MARK: Values

    /// `value` with every string, object key and number redacted (a number that holds a secret becomes `"***"`).
    public func redact(_ value: JSONValue) -> JSONValue {
        guard !isEmpty else { return value }
        switch value {
        case .string(let s): return .string(redact(s))
        case .array(let a): return .array(a.map(redact))
        case .object(let o):
            return .object(Dictionary(o.map { (redact($0.key), redact($0.value)) }, uniquingKeysWith: { a, _ in a }))
        case .integer, .decimal, .number:
            let text = value.jsonString
            return redact(text) == text ? value : .string(SecretRedactor.mask)
        case .null, .bool:
            return value
        }
    }

    /// `outcome` with its output and message redacted.
    public func redact(_ outcome: StepOutcome) -> StepOutcome {
        guard !isEmpty else { return outcome }
        switch outcome {
        case .success(let v): return .success(redact(v))
        case .failure(var f):
            f.message = redact(f.message)
            return .failure(f)
        case .unknown(let m): return .unknown(redact(m))
        case .notHappened: return .notHappened
        }
    }

    // MARK: Forms

    static func pack(_ bytes: [UInt8], at i: Int) -> UInt64 {
        var w: UInt64 = 0
        for k in i..<(i + fragmentLength) { w = (w << 8) | UInt64(bytes[k]) }
        return w
    }

    /// The part of base64(…secret…) that depends only on the secret, for each of the 3 alignments, standard and
    /// URL-safe.
    static func base64Cores(of secret: [UInt8]) -> [[UInt8]] {
        var cores: [[UInt8]] = []
        for shift in 0..<3 {
            let data = Data(repeating: 0, count: shift) + Data(secret)
            let encoded = Array(data.base64EncodedString().utf8)
            // Characters whose 6 bits lie wholly inside the secret's bits [8*shift, 8*(shift+n)).
            let first = (8 * shift + 5) / 6
            let last = (8 * (shift + secret.count)) / 6
            guard first < last, last <= encoded.count else { continue }
            let core = Array(encoded[first..<last])
            cores.append(core)
            cores.append(core.map { $0 == UInt8(ascii: "+") ? UInt8(ascii: "-") : $0 == UInt8(ascii: "/") ? UInt8(ascii: "_") : $0 })
        }
        return cores
    }

    // MARK: Views

    /// Bytes of a decoded view of a text, each with the range of original bytes it came from (`nil`: the text
    /// itself, byte for byte).
    struct View {
        var bytes: [UInt8]
        var lower: [Int]?
        var upper: [Int]?

        func start(_ i: Int) -> Int { lower?[i] ?? i }
        func end(_ i: Int) -> Int { upper?[i] ?? i + 1 }

        mutating func append(_ byte: UInt8, from: Int, to: Int) {
            bytes.append(byte)
            lower!.append(from)
            upper!.append(to)
        }

        static func decoded(capacity: Int) -> View {
            var v = View(bytes: [], lower: [], upper: [])
            v.bytes.reserveCapacity(capacity)
            v.lower!.reserveCapacity(capacity)
            v.upper!.reserveCapacity(capacity)
            return v
        }
    }

    /// The text as is, percent-decoded, JSON-unescaped, and both in either order (when the text has a `%XX`, a `+`
    /// that may stand for a space, or a `\` escape).
    static func views(of bytes: [UInt8], plusIsSpace: Bool = true) -> [View] {
        let identity = View(bytes: bytes, lower: nil, upper: nil)
        var views = [identity]
        var hasPercent = false
        var hasBackslash = false
        for i in bytes.indices {
            let b = bytes[i]
            if b == UInt8(ascii: "%"), i + 2 < bytes.count, hexValue(bytes[i + 1]) != nil, hexValue(bytes[i + 2]) != nil {
                hasPercent = true
            } else if b == UInt8(ascii: "+"), plusIsSpace {
                hasPercent = true
            } else if b == UInt8(ascii: "\\") {
                hasBackslash = true
            }
            if hasPercent && hasBackslash { break }
        }
        if hasPercent { views.append(percentDecoded(identity)) }
        if hasBackslash { views.append(jsonUnescaped(identity)) }
        if hasPercent && hasBackslash {
            views.append(jsonUnescaped(percentDecoded(identity)))
            views.append(percentDecoded(jsonUnescaped(identity)))
        }
        return views
    }

    static func hexValue(_ b: UInt8) -> UInt8? {
        switch b {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): b - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): b - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): b - UInt8(ascii: "A") + 10
        default: nil
        }
    }

    static func percentDecoded(_ view: View) -> View {
        var out = View.decoded(capacity: view.bytes.count)
        var i = 0
        let b = view.bytes
        while i < b.count {
            if b[i] == UInt8(ascii: "%"), i + 2 < b.count, let h = hexValue(b[i + 1]), let l = hexValue(b[i + 2]) {
                out.append(h << 4 | l, from: view.start(i), to: view.end(i + 2))
                i += 3
            } else {
                out.append(b[i] == UInt8(ascii: "+") ? UInt8(ascii: " ") : b[i], from: view.start(i), to: view.end(i))
                i += 1
            }
        }
        return out
    }

    static func jsonUnescaped(_ view: View) -> View {
        var out = View.decoded(capacity: view.bytes.count)
        let b = view.bytes
        var i = 0
        func append(_ bytes: some Sequence<UInt8>, from: Int, to: Int) {
            let (lower, upper) = (view.start(from), view.end(to))
            for byte in bytes { out.append(byte, from: lower, to: upper) }
        }
        while i < b.count {
            guard b[i] == UInt8(ascii: "\\"), i + 1 < b.count else {
                out.append(b[i], from: view.start(i), to: view.end(i))
                i += 1
                continue
            }
            let e = b[i + 1]
            let simple: UInt8? =
                switch e {
                case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): e
                case UInt8(ascii: "n"): 0x0A
                case UInt8(ascii: "r"): 0x0D
                case UInt8(ascii: "t"): 0x09
                case UInt8(ascii: "b"): 0x08
                case UInt8(ascii: "f"): 0x0C
                default: nil
                }
            if let simple {
                append([simple], from: i, to: i + 1)
                i += 2
                continue
            }
            if e == UInt8(ascii: "u"), i + 5 < b.count, let code = hex4(b, at: i + 2) {
                var scalar = code
                var end = i + 5
                if (0xD800...0xDBFF).contains(code), end + 6 < b.count, b[end + 1] == UInt8(ascii: "\\"),
                    b[end + 2] == UInt8(ascii: "u"), let low = hex4(b, at: end + 3), (0xDC00...0xDFFF).contains(low)
                {
                    scalar = 0x10000 + ((code - 0xD800) << 10) + (low - 0xDC00)
                    end += 6
                }
                if let s = Unicode.Scalar(scalar) {
                    append(Array(String(Character(s)).utf8), from: i, to: end)
                    i = end + 1
                    continue
                }
            }
            out.append(b[i], from: view.start(i), to: view.end(i))
            i += 1
        }
        return out
    }

    private static func hex4(_ b: [UInt8], at i: Int) -> UInt32? {
        guard i + 4 <= b.count else { return nil }
        var v: UInt32 = 0
        for k in i..<(i + 4) {
            guard let h = hexValue(b[k]) else { return nil }
            v = v << 4 | UInt32(h)
        }
        return v
    }
}
