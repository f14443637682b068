import Foundation

/// Reads a `.pgpass`-style password file: lines `host:port:database:username:password`, `*` matching anything,
/// `\:` and `\\` escaping, `#` starting a comment; the first matching line wins.
enum PostgresPasswordFile {
    static func password(
        host: String,
        port: Int,
        database: String,
        username: String,
        environment: [String: String]
    ) -> String? {
        let path: String
        if let file = environment["PGPASSFILE"], !file.isEmpty {
            path = file
        } else if let home = environment["HOME"], !home.isEmpty {
            path = home + "/.pgpass"
        } else {
            return nil
        }
        guard let data = FileManager.default.contents(atPath: path) else { return nil }
        let wanted = [host, String(port), database, username]
        for line in String(decoding: data, as: UTF8.self).split(whereSeparator: \.isNewline) {
            if line.hasPrefix("#") { continue }
            let fields = split(String(line))
            guard fields.count == 5 else { continue }
            let matches = zip(fields.prefix(4), wanted).allSatisfy { field, value in field == "*" || field == value }
            if matches { return fields[4] }
        }
        return nil
    }

    /// Splits a line at unescaped colons, removing the escapes.
    static func split(_ line: String) -> [String] {
        var fields: [String] = []
        var current = ""
        var escaped = false
        for character in line {
            if escaped {
                current.append(character)
                escaped = false
            } else if character == "\\" {
                escaped = true
            } else if character == ":" {
                fields.append(current)
                current = ""
            } else {
                current.append(character)
            }
        }
        fields.append(current)
        return fields
    }
}
