import Foundation
import Sagas
import Testing

/// Secrets through the real `saga` binary: its journal, `--json` outputs and logs (issue 14, item 8).
@Suite(.timeLimit(.minutes(2)))
struct SecretCLITests {
    /// A secret echoed percent-encoded, JSON-escaped, base64-encoded and over several lines never reaches the
    /// journal, `show --json`, `list --json` or the worker's log.
    @Test func alteredSecretsStayOutOfEveryOutput() throws {
        let box = try CLISandbox()
        let secret = "Sec+ret/Value=0123456789abcdef"
        try box.writeScript("leak.sh", #"""
            enc=$(printf '%s' "$TOKEN" | sed -e 's/+/%2B/g' -e 's|/|%2F|g' -e 's/=/%3D/g')
            b64=$(printf 'Bearer %s' "$TOKEN" | base64 | tr -d '\n')
            printf 'GET /x?token=%s failed\n' "$enc" >&2
            printf '%s\n' "$TOKEN" | fold -w 10 >&2
            printf 'auth %s\n' "$b64" >&2
            if [ "$SAGA_ATTEMPT" = 1 ]; then exit 1; fi
            printf '{"echo": "%s", "esc": "%s"}\n' "$enc" "$(printf '%s' "$TOKEN" | sed 's|/|\\/|g')"
            """#)
        try box.writeScript("fail.sh", "echo no >&2; exit 100")
        try box.writeWorkflow(
            "leak",
            commandWorkflow("leak", steps: [
                ("leak", ["./scripts/leak.sh"], #""kind": "readonly""#),
                ("fail", ["./scripts/fail.sh"], #""kind": "readonly""#),
            ]).replacingOccurrences(
                of: #"{"command": {"argv": ["./scripts/leak.sh"]}}"#,
                with: #"{"command": {"argv": ["./scripts/leak.sh"], "env": {"TOKEN": "${env.SAGA_TEST_TOKEN}"}}}"#)
        )
        let id = try box.submit(["leak", "--id", "leak-1"])
        #expect(id == "leak-1")
        let worker = try box.run(["worker", "--until-idle", "--log-level", "debug"], environment: ["SAGA_TEST_TOKEN": secret])
        let everything = [
            worker.stdout, worker.stderr,
            try box.run(["show", "leak-1", "--json"]).stdout,
            try box.run(["list", "--json"]).stdout,
            try box.run(["show", "leak-1"]).stdout,
        ].joined(separator: "\n")
        #expect(everything.contains("***"), "\(everything)")
        let decoded = everything.removingPercentEncoding ?? everything
        // From its 12th character on, base64("Bearer " + secret) encodes only the secret's bytes.
        let b64 = String(Data("Bearer \(secret)".utf8).base64EncodedString().dropFirst(12))
        for s in [secret, b64] {
            let chars = Array(s)
            for start in 0...(chars.count - 8) {
                let piece = String(chars[start..<(start + 8)])
                #expect(!everything.contains(piece) && !decoded.contains(piece), "\(piece) in \(everything)")
            }
        }
    }
}
