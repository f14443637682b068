import Crypto

/// Names a pinned definition by its content: the hex SHA-256 (swift-crypto) of its text. Two sagas that pin the same
/// text share one row of `saga_definitions`, and a digest can be cached without ever naming another text.
enum SQLiteDefinitionDigest {
    /// The lower-case hex SHA-256 of `text`'s UTF-8 bytes.
    static func hex(_ text: String) -> String {
        let digest = SHA256.hash(data: Array(text.utf8))
        var out = ""
        out.reserveCapacity(64)
        let digits = Array("0123456789abcdef")
        for byte in digest {
            out.append(digits[Int(byte >> 4)])
            out.append(digits[Int(byte & 0x0f)])
        }
        return out
    }
}
