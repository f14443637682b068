import Foundation
import Sagas
import Testing

/// One validation rule: a workflow with one problem, where it must be reported, and what the message must say.
struct Rule: CustomTestStringConvertible, Sendable {
    var name: String
    var text: String
    var line: Int
    var column: Int
    var severity: WorkflowDiagnostic.Severity
    var fragment: String

    /// The workflow is laid out one item per line: `{`, the head lines (`name`, `version`), the extra top-level
    /// lines, `"steps": [`, one line per step, `]}`. The first step is on line 5 (plus one per extra line).
    init(
        _ name: String,
        steps: [String],
        top: [String] = [],
        head: [String] = [#""name": "t","#, #""version": 1,"#],
        at position: (line: Int, column: Int),
        _ severity: WorkflowDiagnostic.Severity,
        _ fragment: String
    ) {
        self.name = name
        self.text = (["{"] + head + top + [#""steps": ["#]).joined(separator: "\n") + "\n"
            + steps.joined(separator: ",\n") + "\n]}"
        self.line = position.line
        self.column = position.column
        self.severity = severity
        self.fragment = fragment
    }

    var testDescription: String { name }
}

@Suite struct WorkflowRuleTests {
    static let rules: [Rule] = [
        Rule(#"unknown top-level field, near miss"#, steps: [#"{"name": "a", "kind": "readonly", "action": {"handler": {"name": "h"}}}"#], top: [#""descripton": "x","#], at: (4, 1), .error, #"unknown field 'descripton' in the workflow; did you mean 'description'?"#),
        Rule(#"unknown top-level field, no suggestion"#, steps: [#"{"name": "a", "kind": "readonly", "action": {"handler": {"name": "h"}}}"#], top: [#""zzz": 1,"#], at: (4, 1), .error, #"unknown field 'zzz' in the workflow (expected"#),
        Rule(#"duplicate top-level key"#, steps: [#"{"name": "a", "kind": "readonly", "action": {"handler": {"name": "h"}}}"#], top: [#""name": "u","#], at: (4, 1), .error, #"duplicate key 'name' in the workflow (first at line 2, column 1)"#),
        Rule(#"missing name"#, steps: [#"{"name": "a", "kind": "readonly", "action": {"handler": {"name": "h"}}}"#], head: [#""version": 1,"#], at: (1, 1), .error, #"missing required field 'name'"#),
        Rule(#"missing version"#, steps: [#"{"name": "a", "kind": "readonly", "action": {"handler": {"name": "h"}}}"#], head: [#""name": "t","#], at: (1, 1), .error, #"missing required field 'version'"#),
        Rule(#"version is a string"#, steps: [#"{"name": "a", "kind": "readonly", "action": {"handler": {"name": "h"}}}"#], head: [#""name": "t","#, #""version": "1","#], at: (3, 12), .error, #"'version' must be a positive integer, got string"#),
        Rule(#"version is zero"#, steps: [#"{"name": "a", "kind": "readonly", "action": {"handler": {"name": "h"}}}"#], head: [#""name": "t","#, #""version": 0,"#], at: (3, 12), .error, #"'version' must be a positive integer, got 0"#),
        Rule(#"name with upper case and space"#, steps: [#"{"name": "a", "kind": "readonly", "action": {"handler": {"name": "h"}}}"#], head: [#""name": "Order Flow","#, #""version": 1,"#], at: (2, 9), .error, #"'name' must be 1 to 100 lower-case letters"#),
        Rule(#"$schema is not a string"#, steps: [#"{"name": "a", "kind": "readonly", "action": {"handler": {"name": "h"}}}"#], top: [#""$schema": true,"#], at: (4, 12), .error, #"'$schema' must be a string, got boolean"#),
        Rule(#"input schema: unknown type"#, steps: [#"{"name": "a", "kind": "readonly", "action": {"handler": {"name": "h"}}}"#], top: [#""input": {"type": "object", "properties": {"id": {"type": "text"}}},"#], at: (4, 59), .error, #"'input.id.type': unknown type "text""#),
        Rule(#"input schema: unknown key"#, steps: [#"{"name": "a", "kind": "readonly", "action": {"handler": {"name": "h"}}}"#], top: [#""input": {"properties": {"n": {"type": "integer", "description": "ok", "minimum": 1}}},"#], at: (4, 72), .error, #"unknown field 'minimum' in the schema 'input.n'"#),
        Rule(#"input schema: required is not strings"#, steps: [#"{"name": "a", "kind": "readonly", "action": {"handler": {"name": "h"}}}"#], top: [#""input": {"required": ["a", 3]},"#], at: (4, 29), .error, #"'input.required' must contain only strings, got integer"#),
        Rule(#"defaults: unknown key"#, steps: [#"{"name": "a", "kind": "readonly", "action": {"handler": {"name": "h"}}}"#], top: [#""defaults": {"timout": "1s"},"#], at: (4, 14), .error, #"unknown field 'timout' in 'defaults'; did you mean 'timeout'?"#),
        Rule(#"defaults: timeout zero"#, steps: [#"{"name": "a", "kind": "readonly", "action": {"handler": {"name": "h"}}}"#], top: [#""defaults": {"timeout": "0s"},"#], at: (4, 25), .error, #"'defaults.timeout' must be longer than zero"#),
        Rule(#"step: missing name"#, steps: [#"{"kind": "readonly", "action": {"handler": {"name": "h"}}}"#], at: (5, 1), .error, #"missing required field 'name' in step 1"#),
        Rule(#"step: missing action"#, steps: [#"{"name": "a", "kind": "readonly"}"#], at: (5, 1), .error, #"missing required field 'action' in step 'a'"#),
        Rule(#"step: name with a space"#, steps: [#"{"name": "a b", "kind": "readonly", "action": {"handler": {"name": "h"}}}"#], at: (5, 10), .error, #"step name must be letters, digits, '_' or '-'"#),
        Rule(#"step: unknown field near miss"#, steps: [#"{"name": "a", "kind": "readonly", "action": {"handler": {"name": "h"}}, "compensaton": {"handler": {"name": "h"}}}"#], at: (5, 73), .error, #"unknown field 'compensaton' in step 1; did you mean 'compensation'?"#),
        Rule(#"step: transposed field name"#, steps: [#"{"name": "a", "kind": "readonly", "action": {"handler": {"name": "h"}}, "retyr": {}}"#], at: (5, 73), .error, #"did you mean 'retry'?"#),
        Rule(#"step: duplicate key"#, steps: [#"{"name": "a", "kind": "readonly", "action": {"handler": {"name": "h"}}, "kind": "pivot"}"#], at: (5, 73), .error, #"duplicate key 'kind' in step 1"#),
        Rule(#"duplicate step names"#, steps: [#"{"name": "a", "kind": "readonly", "action": {"handler": {"name": "h"}}}"#, #"{"name": "a", "kind": "readonly", "action": {"handler": {"name": "h"}}}"#], at: (6, 10), .error, #"duplicate step name 'a' (first defined at line 5)"#),
        Rule(#"after names a missing step"#, steps: [#"{"name": "a", "kind": "readonly", "action": {"handler": {"name": "h"}}}"#, #"{"name": "b", "kind": "readonly", "action": {"handler": {"name": "h"}}, "after": ["a", "aa", "zz"]}"#], at: (6, 94), .error, #"'after' of step 'b' names unknown step 'zz'"#),
        Rule(#"after: near miss suggests the step"#, steps: [#"{"name": "reserve", "kind": "readonly", "action": {"handler": {"name": "h"}}}"#, #"{"name": "ship", "kind": "readonly", "action": {"handler": {"name": "h"}}, "after": ["reserv"]}"#], at: (6, 86), .error, #"did you mean 'reserve'?"#),
        Rule(#"after is not an array"#, steps: [#"{"name": "a", "kind": "readonly", "action": {"handler": {"name": "h"}}}"#, #"{"name": "b", "kind": "readonly", "action": {"handler": {"name": "h"}}, "after": "a"}"#], at: (6, 82), .error, #"'after' must be an array of strings, got string"#),
        Rule(#"dependency cycle of two"#, steps: [#"{"name": "a", "kind": "readonly", "action": {"handler": {"name": "h"}}, "after": ["b"]}"#, #"{"name": "b", "kind": "readonly", "action": {"handler": {"name": "h"}}}"#], at: (5, 82), .error, #"dependency cycle: a -> b -> a"#),
        Rule(#"dependency cycle of three"#, steps: [#"{"name": "a", "kind": "readonly", "action": {"handler": {"name": "h"}}, "after": ["c"]}"#, #"{"name": "b", "kind": "readonly", "action": {"handler": {"name": "h"}}}"#, #"{"name": "c", "kind": "readonly", "action": {"handler": {"name": "h"}}}"#], at: (5, 82), .error, #"dependency cycle: a -> c -> b -> a"#),
        Rule(#"step after itself"#, steps: [#"{"name": "a", "kind": "readonly", "action": {"handler": {"name": "h"}}, "after": ["a"]}"#], at: (5, 82), .error, #"dependency cycle: a -> a"#),
        Rule(#"template: malformed"#, steps: [#"{"name": "a", "kind": "readonly", "action": {"handler": {"name": "h", "input": "${input.x"}}}"#], at: (5, 80), .error, #"invalid template in 'action': '${' is not closed by '}'"#),
        Rule(#"template: unknown root"#, steps: [#"{"name": "a", "kind": "readonly", "action": {"command": {"argv": ["x", "${inptu.id}"]}}}"#], at: (5, 72), .error, #"unknown root 'inptu'"#),
        Rule(#"template: empty"#, steps: [#"{"name": "a", "kind": "readonly", "action": {"command": {"argv": ["x", "id=${}"]}}}"#], at: (5, 72), .error, #"empty template"#),
        Rule(#"template: unknown step"#, steps: [#"{"name": "a", "kind": "readonly", "action": {"handler": {"name": "h"}}}"#, #"{"name": "b", "kind": "readonly", "action": {"command": {"argv": ["x", "${steps.zz.output}"]}}}"#], at: (6, 72), .error, #"names unknown step 'zz'"#),
        Rule(#"template: step that runs in parallel"#, steps: [#"{"name": "a", "kind": "readonly", "action": {"handler": {"name": "h"}}, "after": []}"#, #"{"name": "b", "kind": "readonly", "after": [], "action": {"command": {"argv": ["x", "${steps.a.output.id}"]}}}"#], at: (6, 85), .error, #"names step 'a', which does not run before it"#),
        Rule(#"template: step that runs later"#, steps: [#"{"name": "a", "kind": "readonly", "action": {"command": {"argv": ["x", "${steps.b.output}"]}}}"#, #"{"name": "b", "kind": "readonly", "action": {"handler": {"name": "h"}}}"#], at: (5, 72), .error, #"names step 'b', which does not run before it"#),
        Rule(#"template: an action naming its own output"#, steps: [#"{"name": "a", "kind": "readonly", "action": {"command": {"argv": ["${steps.a.output.id}"]}}}"#], at: (5, 67), .error, #"the action of step 'a' cannot use its own output"#),
        Rule(#"template: in a compensation, a later step"#, steps: [#"{"name": "a", "action": {"handler": {"name": "h"}}, "compensation": {"command": {"argv": ["x", "${steps.b.output}"]}}}"#, #"{"name": "b", "kind": "readonly", "action": {"handler": {"name": "h"}}}"#], at: (5, 96), .error, #"in the compensation of step 'a' names step 'b'"#),
        Rule(#"timeout: not a duration"#, steps: [#"{"name": "a", "kind": "readonly", "action": {"handler": {"name": "h"}}, "timeout": "5 seconds"}"#], at: (5, 84), .error, #"'timeout' is not a valid duration: "5 seconds""#),
        Rule(#"timeout: a number"#, steps: [#"{"name": "a", "kind": "readonly", "action": {"handler": {"name": "h"}}, "timeout": 5}"#], at: (5, 84), .error, #"'timeout' must be a duration string"#),
        Rule(#"timeout: overflowing"#, steps: [#"{"name": "a", "kind": "readonly", "action": {"handler": {"name": "h"}}, "timeout": "999999999999d"}"#], at: (5, 84), .error, #"is longer than the longest duration allowed, 10000d"#),
        Rule(#"timeout: past the limit but within Int64 milliseconds"#, steps: [#"{"name": "a", "kind": "readonly", "action": {"handler": {"name": "h"}}, "timeout": "99999999999d"}"#], at: (5, 84), .error, #"is longer than the longest duration allowed, 10000d"#),
        Rule(#"retry: maxInterval one day past the limit"#, steps: [#"{"name": "a", "kind": "readonly", "action": {"handler": {"name": "h"}}, "retry": {"maxInterval": "10001d"}}"#], at: (5, 98), .error, #"'retry.maxInterval' is longer than the longest duration allowed, 10000d: "10001d""#),
        Rule(#"retry: maxAttempts zero"#, steps: [#"{"name": "a", "kind": "readonly", "action": {"handler": {"name": "h"}}, "retry": {"maxAttempts": 0}}"#], at: (5, 98), .error, #"'retry.maxAttempts' must be an integer from 1 to 1000, got 0"#),
        Rule(#"retry: maxAttempts a string"#, steps: [#"{"name": "a", "kind": "readonly", "action": {"handler": {"name": "h"}}, "retry": {"maxAttempts": "3"}}"#], at: (5, 98), .error, #"'retry.maxAttempts' must be an integer from 1 to 1000, got string"#),
        Rule(#"retry: maxInterval shorter than initialInterval"#, steps: [#"{"name": "a", "kind": "readonly", "action": {"handler": {"name": "h"}}, "retry": {"initialInterval": "5s", "maxInterval": "1s"}}"#], at: (5, 123), .error, #"'retry.maxInterval' (1s) must not be shorter than 'initialInterval' (5s)"#),
        Rule(#"retry: initialInterval over the default maxInterval"#, steps: [#"{"name": "a", "kind": "readonly", "action": {"handler": {"name": "h"}}, "retry": {"initialInterval": "2m"}}"#], at: (5, 102), .error, #"'retry.maxInterval' (1m) must not be shorter than 'initialInterval' (2m)"#),
        Rule(#"retry: backoffCoefficient below 1"#, steps: [#"{"name": "a", "kind": "readonly", "action": {"handler": {"name": "h"}}, "retry": {"backoffCoefficient": 0.5}}"#], at: (5, 105), .error, #"'retry.backoffCoefficient' must be a number from 1 to 100, got 0.5"#),
        Rule(#"retry: unknown jitter"#, steps: [#"{"name": "a", "kind": "readonly", "action": {"handler": {"name": "h"}}, "retry": {"jitter": "some"}}"#], at: (5, 93), .error, #"'retry.jitter' must be "full" or "none", got "some""#),
        Rule(#"retry: near-miss field"#, steps: [#"{"name": "a", "kind": "readonly", "action": {"handler": {"name": "h"}}, "compensationRetry": {"maxAttempt": 2}}"#], at: (5, 95), .error, #"did you mean 'maxAttempts'?"#),
        Rule(#"kind: near miss"#, steps: [#"{"name": "a", "kind": "pivott", "action": {"handler": {"name": "h"}}}"#], at: (5, 23), .error, #"did you mean 'pivot'?"#),
        Rule(#"two pivots"#, steps: [#"{"name": "a", "kind": "pivot", "action": {"handler": {"name": "h"}}}"#, #"{"name": "b", "kind": "pivot", "action": {"handler": {"name": "h"}}}"#], at: (6, 23), .error, #"at most one pivot: 'b' is a pivot and so is 'a' (line 5)"#),
        Rule(#"compensable step after the pivot"#, steps: [#"{"name": "p", "kind": "pivot", "action": {"handler": {"name": "h"}}}"#, #"{"name": "b", "action": {"handler": {"name": "h"}}, "compensation": {"handler": {"name": "h"}}}"#], at: (6, 1), .error, #"step 'b' runs after the pivot 'p' and must be retriable or readonly"#),
        Rule(#"declared compensable after the pivot"#, steps: [#"{"name": "p", "kind": "pivot", "action": {"handler": {"name": "h"}}}"#, #"{"name": "b", "kind": "compensable", "action": {"handler": {"name": "h"}}}"#], at: (6, 23), .error, #"runs after the pivot 'p'"#),
        Rule(#"compensable step in parallel with the pivot"#, steps: [#"{"name": "a", "after": [], "action": {"handler": {"name": "h"}}, "compensation": {"handler": {"name": "h"}}}"#, #"{"name": "p", "after": [], "kind": "pivot", "action": {"handler": {"name": "h"}}}"#], at: (5, 1), .error, #"step 'a' runs in parallel with the pivot 'p'"#),
        Rule(#"retriable step without a pivot"#, steps: [#"{"name": "a", "kind": "retriable", "action": {"handler": {"name": "h"}}}"#], at: (5, 23), .warning, #"step 'a' is retriable but does not run after a pivot"#),
        Rule(#"compensation on a readonly step"#, steps: [#"{"name": "a", "kind": "readonly", "action": {"handler": {"name": "h"}}, "compensation": {"handler": {"name": "h"}}}"#], at: (5, 73), .warning, #"the compensation of step 'a' is never run: readonly steps are not compensated"#),
        Rule(#"compensation on the pivot"#, steps: [#"{"name": "p", "kind": "pivot", "action": {"handler": {"name": "h"}}, "compensation": {"handler": {"name": "h"}}}"#], at: (5, 70), .warning, #"pivot steps are not compensated"#),
        Rule(#"no compensation and no kind"#, steps: [#"{"name": "a", "action": {"handler": {"name": "h"}}}"#], at: (5, 1), .warning, #"step 'a' has no compensation and no declared kind: if it has an effect, add a 'compensation' that undoes it; if it has none, declare "kind": "readonly""#),
        Rule(#"action: not an object"#, steps: [#"{"name": "a", "kind": "readonly", "action": "run"}"#], at: (5, 45), .error, #"'action' of step 'a' must be an object with one key"#),
        Rule(#"action: empty"#, steps: [#"{"name": "a", "kind": "readonly", "action": {}}"#], at: (5, 45), .error, #"'action' of step 'a' is empty: it needs one key, 'http', 'command', 'handler', 'sleep' or 'sleepUntil'"#),
        Rule(#"action: two kinds"#, steps: [#"{"name": "a", "kind": "readonly", "action": {"handler": {"name": "h"}, "command": {"argv": ["x"]}}}"#], at: (5, 72), .error, #"has 2 keys; it needs exactly one of 'http', 'command', 'handler', 'sleep' or 'sleepUntil'"#),
        Rule(#"action: unknown kind near miss"#, steps: [#"{"name": "a", "kind": "readonly", "action": {"comand": {"argv": ["x"]}}}"#], at: (5, 46), .error, #"unknown action kind 'comand' in 'action' of step 'a' (expected 'http', 'command', 'handler', 'sleep' or 'sleepUntil'); did you mean 'command'?"#),
        Rule(#"http: missing method and url"#, steps: [#"{"name": "a", "kind": "readonly", "action": {"http": {}}}"#], at: (5, 54), .error, #"missing required field 'method' in 'action.http' of step 'a'"#),
        Rule(#"http: unknown method"#, steps: [#"{"name": "a", "kind": "readonly", "action": {"http": {"method": "FETCH", "url": "http://x"}}}"#], at: (5, 65), .error, #"'method' must be one of 'GET', 'POST', 'PUT', 'PATCH', 'DELETE' or 'HEAD', got "FETCH""#),
        Rule(#"http: url not a string"#, steps: [#"{"name": "a", "kind": "readonly", "action": {"http": {"method": "GET", "url": 1}}}"#], at: (5, 79), .error, #"'url' must be a string, got integer"#),
        Rule(#"http: header near miss"#, steps: [#"{"name": "a", "kind": "readonly", "action": {"http": {"method": "GET", "url": "u", "header": {}}}}"#], at: (5, 84), .error, #"did you mean 'headers'?"#),
        Rule(#"http: header value not a string"#, steps: [#"{"name": "a", "kind": "readonly", "action": {"http": {"method": "GET", "url": "u", "headers": {"X-N": 1}}}}"#], at: (5, 103), .error, #"'headers.X-N' must be a string, got integer"#),
        Rule(#"http: status out of range"#, steps: [#"{"name": "a", "kind": "readonly", "action": {"http": {"method": "GET", "url": "u", "successStatus": [200, 700]}}}"#], at: (5, 107), .error, #"'successStatus' must list HTTP status codes from 100 to 599, got 700"#),
        Rule(#"http: followRedirects not a boolean"#, steps: [#"{"name": "a", "kind": "readonly", "action": {"http": {"method": "GET", "url": "u", "followRedirects": "yes"}}}"#], at: (5, 103), .error, #"'followRedirects' must be true or false, got string"#),
        Rule(#"http: duplicate key in body"#, steps: [#"{"name": "a", "kind": "readonly", "action": {"http": {"method": "POST", "url": "u", "body": {"x": 1, "x": 2}}}}"#], at: (5, 102), .error, #"duplicate key 'x' in 'body'"#),
        Rule(#"command: empty argv"#, steps: [#"{"name": "a", "kind": "readonly", "action": {"command": {"argv": []}}}"#], at: (5, 66), .error, #"'argv' must not be empty"#),
        Rule(#"command: argv with a number"#, steps: [#"{"name": "a", "kind": "readonly", "action": {"command": {"argv": ["x", 2]}}}"#], at: (5, 72), .error, #"'argv' must contain only strings, got integer"#),
        Rule(#"command: env value not a string"#, steps: [#"{"name": "a", "kind": "readonly", "action": {"command": {"argv": ["x"], "env": {"N": true}}}}"#], at: (5, 86), .error, #"'env.N' must be a string, got boolean"#),
        Rule(#"command: missing argv"#, steps: [#"{"name": "a", "kind": "readonly", "action": {"command": {"stdin": "x"}}}"#], at: (5, 57), .error, #"missing required field 'argv' in 'action.command' of step 'a'"#),
        Rule(#"handler: empty name"#, steps: [#"{"name": "a", "kind": "readonly", "action": {"handler": {"name": ""}}}"#], at: (5, 66), .error, #"the handler 'name' must not be empty"#),
        Rule(#"probe: unknown key"#, steps: [#"{"name": "a", "kind": "readonly", "action": {"handler": {"name": "h"}}, "probe": {"handler": {"name": "p", "inputs": 1}}}"#], at: (5, 108), .error, #"unknown field 'inputs' in 'probe.handler' of step 'a'; did you mean 'input'?"#),
        Rule(#"reconciliation: unknown field near miss"#, steps: [#"{"name": "a", "kind": "readonly", "action": {"handler": {"name": "h"}}}"#], top: [#""reconciliation": {"retryIntervl": "10m"},"#], at: (4, 20), .error, #"unknown field 'retryIntervl' in 'reconciliation'; did you mean 'retryInterval'?"#),
        Rule(#"reconciliation: unknown field, no suggestion"#, steps: [#"{"name": "a", "kind": "readonly", "action": {"handler": {"name": "h"}}}"#], top: [#""reconciliation": {"overdueFactor": 3},"#], at: (4, 20), .error, #"unknown field 'overdueFactor' in 'reconciliation' (expected 'retryInterval' or 'maxAutomaticRetries')"#),
        Rule(#"reconciliation: not an object"#, steps: [#"{"name": "a", "kind": "readonly", "action": {"handler": {"name": "h"}}}"#], top: [#""reconciliation": "10m","#], at: (4, 19), .error, #"'reconciliation' must be an object, got string"#),
        Rule(#"reconciliation: maxAutomaticRetries over 100"#, steps: [#"{"name": "a", "kind": "readonly", "action": {"handler": {"name": "h"}}}"#], top: [#""reconciliation": {"maxAutomaticRetries": 101},"#], at: (4, 43), .error, #"'reconciliation.maxAutomaticRetries' must be an integer from 0 to 100, got 101"#),
        Rule(#"reconciliation: maxAutomaticRetries negative"#, steps: [#"{"name": "a", "kind": "readonly", "action": {"handler": {"name": "h"}}}"#], top: [#""reconciliation": {"maxAutomaticRetries": -1},"#], at: (4, 43), .error, #"'reconciliation.maxAutomaticRetries' must be an integer from 0 to 100, got -1"#),
        Rule(#"reconciliation: maxAutomaticRetries fractional"#, steps: [#"{"name": "a", "kind": "readonly", "action": {"handler": {"name": "h"}}}"#], top: [#""reconciliation": {"maxAutomaticRetries": 2.5},"#], at: (4, 43), .error, #"'reconciliation.maxAutomaticRetries' must be an integer from 0 to 100, got 2.5"#),
        Rule(#"reconciliation: maxAutomaticRetries a string"#, steps: [#"{"name": "a", "kind": "readonly", "action": {"handler": {"name": "h"}}}"#], top: [#""reconciliation": {"maxAutomaticRetries": "5"},"#], at: (4, 43), .error, #"'reconciliation.maxAutomaticRetries' must be an integer from 0 to 100, got string"#),
        Rule(#"reconciliation: retryInterval not a duration"#, steps: [#"{"name": "a", "kind": "readonly", "action": {"handler": {"name": "h"}}}"#], top: [#""reconciliation": {"retryInterval": "10 minutes"},"#], at: (4, 37), .error, #"'reconciliation.retryInterval' is not a valid duration: "10 minutes""#),
        Rule(#"reconciliation: retryInterval a number"#, steps: [#"{"name": "a", "kind": "readonly", "action": {"handler": {"name": "h"}}}"#], top: [#""reconciliation": {"retryInterval": 600},"#], at: (4, 37), .error, #"'reconciliation.retryInterval' must be a duration string"#),
        Rule(#"reconciliation: duplicate key"#, steps: [#"{"name": "a", "kind": "readonly", "action": {"handler": {"name": "h"}}}"#], top: [#""reconciliation": {"maxAutomaticRetries": 1, "maxAutomaticRetries": 2},"#], at: (4, 46), .error, #"duplicate key 'maxAutomaticRetries' in 'reconciliation'"#),
        Rule(#"steps: empty"#, steps: [], at: (4, 10), .error, #"'steps' must contain at least one step"#),
        Rule(#"steps: a step that is not an object"#, steps: [#""a""#], at: (5, 1), .error, #"step 1 must be an object, got string"#),
    ]

    @Test(arguments: rules)
    func reportsTheProblemWhereItIs(_ rule: Rule) {
        let result = WorkflowLoader.load(string: rule.text, file: "t.json", kinds: .standard)
        let found = result.diagnostics.contains {
            $0.line == rule.line && $0.column == rule.column && $0.severity == rule.severity
                && $0.message.contains(rule.fragment) && $0.file == "t.json"
        }
        let listing = result.diagnostics.map(\.description).joined(separator: "\n")
        #expect(found, "expected \(rule.severity) at \(rule.line):\(rule.column): \(rule.fragment); got:\n\(listing)")
        if rule.severity == .error {
            #expect(result.definition == nil)
        } else {
            #expect(!result.hasErrors, "\(result.diagnostics)")
            #expect(result.definition != nil)
        }
    }
}
