/// Text a caller gave (an id, a workflow reference) as an error message echoes it: at most `limit` characters,
/// control characters shown as `?`, so that a 10,000-character argument gives a one-line error that still fits.
public enum EchoedText {
    public static func clip(_ text: String, limit: Int = 64) -> String {
        let visible = String(String.UnicodeScalarView(text.unicodeScalars.prefix(limit + 1).map { scalar in
            scalar.properties.generalCategory == .control || scalar.properties.generalCategory == .format ? "?" : scalar
        }))
        let count = text.unicodeScalars.count
        guard count > limit else { return visible }
        return String(visible.unicodeScalars.prefix(limit - 1)) + "… (\(count) characters)"
    }
}
