// Checks that need the whole workflow: step names, dependencies, cycles, template ordering, kinds and the pivot.

/// A set of step indexes (a bitset: workflows have at most 1,000 steps).
struct StepSet {
    private var words: [UInt64]

    init(count: Int) {
        words = [UInt64](repeating: 0, count: (count + 63) / 64)
    }

    func contains(_ i: Int) -> Bool {
        let w = i / 64
        guard w >= 0, w < words.count else { return false }
        return words[w] & (1 << UInt64(i % 64)) != 0
    }

    mutating func insert(_ i: Int) {
        let w = i / 64
        guard w >= 0, w < words.count else { return }
        words[w] |= 1 << UInt64(i % 64)
    }
}

extension WorkflowDecoder {
    /// Runs the whole-workflow checks on decoded steps.
    mutating func validate(_ steps: [DecodedStep]) {
        // Names: the first step with a name owns it.
        var indexByName: [String: Int] = [:]
        for (i, s) in steps.enumerated() {
            if let first = indexByName[s.step.name] {
                error("duplicate step name '\(s.step.name)' (first defined at line \(steps[first].nameLocation.line))",
                      at: s.nameLocation)
            } else {
                indexByName[s.step.name] = i
            }
        }
        let names = steps.map(\.step.name)

        // Dependencies.
        var edges = [[Int]](repeating: [], count: steps.count)
        for (i, s) in steps.enumerated() {
            if let entries = s.afterEntries {
                for entry in entries {
                    if let j = indexByName[entry.name] {
                        edges[i].append(j)
                    } else {
                        var message = "'after' of step '\(s.step.name)' names unknown step '\(entry.name)'"
                        if let suggestion = Suggestion.closest(to: entry.name, among: names) {
                            message += "; did you mean '\(suggestion)'?"
                        }
                        error(message, at: entry.location)
                    }
                }
            } else if i > 0 {
                edges[i].append(i - 1)
            }
        }
        reportCycles(steps, edges: edges)

        // Transitive dependencies: ancestors[i] holds every step that finishes before step i starts.
        var ancestors: [StepSet] = []
        ancestors.reserveCapacity(steps.count)
        var stack: [Int] = []
        for i in steps.indices {
            var set = StepSet(count: steps.count)
            stack.removeAll(keepingCapacity: true)
            stack.append(contentsOf: edges[i])
            while let j = stack.popLast() {
                if set.contains(j) { continue }
                set.insert(j)
                stack.append(contentsOf: edges[j])
            }
            ancestors.append(set)
        }

        // Templates naming step outputs.
        for (i, s) in steps.enumerated() {
            for reference in s.stepReferences {
                guard let j = indexByName[reference.step] else {
                    var message = "template '\(reference.template)' in step '\(s.step.name)' names unknown step "
                        + "'\(reference.step)'"
                    if let suggestion = Suggestion.closest(to: reference.step, among: names) {
                        message += "; did you mean '\(suggestion)'?"
                    }
                    error(message, at: reference.location)
                    continue
                }
                if j == i {
                    if reference.phase == .action {
                        error("template '\(reference.template)': the action of step '\(s.step.name)' cannot use its "
                              + "own output (only its compensation and probe can)", at: reference.location)
                    }
                    continue
                }
                if !ancestors[i].contains(j) {
                    error("template '\(reference.template)' in the \(reference.phase.rawValue) of step "
                          + "'\(s.step.name)' names step '\(reference.step)', which does not run before it "
                          + "(add '\(reference.step)' to the 'after' of '\(s.step.name)')", at: reference.location)
                }
            }
        }

        // Kinds and the pivot.
        let pivots = steps.indices.filter { steps[$0].step.kind == .pivot }
        for extra in pivots.dropFirst() {
            let first = steps[pivots[0]]
            error("a workflow has at most one pivot: '\(steps[extra].step.name)' is a pivot and so is "
                  + "'\(first.step.name)' (line \(first.nameLocation.line))",
                  at: steps[extra].kindLocation ?? steps[extra].location)
        }
        let pivot = pivots.first
        for (i, s) in steps.enumerated() {
            let kind = s.step.kind
            let followsPivot = pivot.map { ancestors[i].contains($0) } ?? false
            if let p = pivot, i != p {
                let pivotName = steps[p].step.name
                if followsPivot {
                    if kind != .retriable && kind != .readonly {
                        error("step '\(s.step.name)' runs after the pivot '\(pivotName)' and must be retriable or "
                              + "readonly, not \(kind.rawValue): declare \"kind\": \"retriable\" (or \"readonly\" "
                              + "if it has no effect)", at: s.kindLocation ?? s.location)
                    }
                } else if !ancestors[p].contains(i) && kind == .compensable {
                    error("step '\(s.step.name)' runs in parallel with the pivot '\(pivotName)': a compensable step "
                          + "must finish before the pivot (add it to the pivot's 'after') or run after it",
                          at: s.kindLocation ?? s.location)
                }
            }
            if kind == .retriable && !followsPivot {
                warning("step '\(s.step.name)' is retriable but does not run after a pivot: it is never "
                        + "compensated, so a later failure leaves its effect in place", at: s.kindLocation ?? s.location)
            }
            if s.step.compensation != nil, kind != .compensable, let location = s.compensationKeyLocation {
                warning("the compensation of step '\(s.step.name)' is never run: \(kind.rawValue) steps are not "
                        + "compensated", at: location)
            }
            // A compensation that is present but invalid has its own error: not "has no compensation" too.
            if s.declaredKind == nil && s.step.compensation == nil && s.compensationKeyLocation == nil && !followsPivot {
                warning("step '\(s.step.name)' has no compensation and no declared kind: if it has an effect, add "
                        + "a 'compensation' that undoes it; if it has none, declare \"kind\": \"readonly\"",
                        at: s.location)
            }
        }
    }

    /// Reports each dependency cycle once, naming its steps in order: `a -> b -> a` (each waits for the next).
    private mutating func reportCycles(_ steps: [DecodedStep], edges: [[Int]]) {
        // Iterative depth-first search: 0 = unvisited, 1 = on the stack, 2 = done.
        var color = [UInt8](repeating: 0, count: steps.count)
        var reported: Set<[Int]> = []
        for start in steps.indices where color[start] == 0 {
            var stack: [(node: Int, next: Int)] = [(start, 0)]
            color[start] = 1
            while let top = stack.last {
                let node = top.node
                if top.next < edges[node].count {
                    stack[stack.count - 1].next += 1
                    let target = edges[node][top.next]
                    if color[target] == 0 {
                        color[target] = 1
                        stack.append((target, 0))
                    } else if color[target] == 1, reported.count < 20,
                        let from = stack.firstIndex(where: { $0.node == target })
                    {
                        var cycle = stack[from...].map(\.node)
                        // Start the cycle at the step that comes first in the file.
                        if let minimum = cycle.min(), let k = cycle.firstIndex(of: minimum) {
                            cycle = Array(cycle[k...] + cycle[..<k])
                        }
                        if reported.insert(cycle).inserted, let first = cycle.first {
                            let path = (cycle + [first]).map { steps[$0].step.name }.joined(separator: " -> ")
                            let s = steps[first]
                            error("dependency cycle: \(path) (each step waits for the next through 'after')",
                                  at: s.afterLocation ?? s.location)
                        }
                    }
                } else {
                    color[node] = 2
                    stack.removeLast()
                }
            }
        }
    }
}
