/// One stage of a comparison's configuration search (docs/COMPARE.md §2): the configurations every rung asks for,
/// run as one sweep. A run that is the same simulation as another ("Runs that are the same") is made once, in this
/// stage or an earlier one; under a ranked search every run is first made on the ranking's few steps and only each
/// rung's fastest in full (a rung with a single run in the stage has nothing to rank: it runs in full at once).
struct SearchStage {
    typealias Entry = (rung: Int, configuration: RunConfiguration)
    typealias Outcome = Comparison.Outcome
    typealias Figures = Comparison.Figures

    /// A rung's run, named by the configuration that stands for every one whose run is the same simulation.
    struct Run: Hashable {
        var rung: Int
        var configuration: RunConfiguration
    }

    let name: String
    let label: String
    let entries: [Entry]
    /// Each entry's run.
    let runs: [Run]
    /// The outcomes of earlier stages, by their run (the first, where several share one).
    let known: [Run: Outcome]

    init(name: String, label: String, entries: [Entry], searches: [ConfigurationSearch], visited: [[Outcome]]) {
        self.name = name
        self.label = label
        self.entries = entries
        runs = entries.map { Run(rung: $0.rung, configuration: searches[$0.rung].sameRun(as: $0.configuration)) }
        var known: [Run: Outcome] = [:]
        for (r, outcomes) in visited.enumerated() {
            for o in outcomes {
                let run = Run(rung: r, configuration: searches[r].sameRun(as: o.configuration))
                if known[run] == nil { known[run] = o }
            }
        }
        self.known = known
    }

    /// Every entry's outcome, in entry order.
    func outcomes(of comparison: Comparison) throws -> [Outcome] {
        guard let ranking = comparison.activeRanking else {
            var full = known.mapValues(\.figures)
            try run(Array(entries.indices), into: &full, name, label) { try comparison.runStage($0, $1, $2) }
            return entries.indices.map { Outcome(configuration: entries[$0].configuration, figures: full[runs[$0]]!) }
        }
        // A rung whose every configuration here is one run, not made before, has nothing to rank: it runs in full
        // (as does, with the figures it has, a run made in full that way in an earlier stage).
        let alone = Set(
            entries.indices.filter { i in
                guard let earlier = known[runs[i]] else {
                    return entries.indices.allSatisfy { entries[$0].rung != entries[i].rung || runs[$0] == runs[i] }
                }
                return earlier.ranked == nil && earlier.figures != nil
            })
        var ranked = known.mapValues(\.ranked)
        try run(entries.indices.filter { !alone.contains($0) }, into: &ranked, name + "-ranked", label + " ranked") {
            try comparison.runStage($0, $1, $2, decodeSteps: ranking.steps)
        }
        let rankedFigures = entries.indices.map { alone.contains($0) ? nil : ranked[runs[$0]] ?? nil }
        let confirm = (Self.confirmed(rankedFigures, rungs: entries.map(\.rung), ranking: ranking) + alone).sorted()
        var full = known.filter { $0.value.figures != nil }.mapValues(\.figures)
        try run(confirm, into: &full, name, label + " confirmed") { try comparison.runStage($0, $1, $2) }
        return entries.indices.map { i in
            Outcome(
                configuration: entries[i].configuration, figures: confirm.contains(i) ? full[runs[i]] ?? nil : nil,
                ranked: rankedFigures[i])
        }
    }

    /// Makes, as one sweep, the runs of `selected` entries that `figures` does not hold yet (each run once), and
    /// records what each gave (nil: it failed).
    private func run(
        _ selected: [Int], into figures: inout [Run: Figures?], _ name: String, _ label: String,
        _ runStage: (String, String, [Entry]) throws -> [Figures?]
    ) throws {
        var seen = Set<Run>()
        let fresh = selected.filter { figures[runs[$0]] == nil && seen.insert(runs[$0]).inserted }
        for (i, result) in zip(fresh, try runStage(name, label, fresh.map { entries[$0] })) {
            figures[runs[i]] = result
        }
    }

    /// Under a ranked search, the entries to run in full: each rung's `confirmed` fastest on the ranking's steps
    /// and every one within `tolerance` of its fastest, in entry order.
    static func confirmed(_ ranked: [Figures?], rungs: [Int], ranking: Comparison.Ranking) -> [Int] {
        var confirm: [Int] = []
        for r in Set(rungs) {
            let mine = ranked.indices.filter { rungs[$0] == r && ranked[$0] != nil }
            // Fastest first; among equals, the earlier proposed (as the full search's `best` keeps the first).
            let order = mine.sorted {
                (ranked[$0]!.throughputTokensPerS, -$0) > (ranked[$1]!.throughputTokensPerS, -$1)
            }
            let fastest = order.first.map { ranked[$0]!.throughputTokensPerS } ?? 0
            confirm += order.enumerated().filter { n, i in
                n < ranking.confirmed || ranked[i]!.throughputTokensPerS >= (1 - ranking.tolerance) * fastest
            }.map(\.element)
        }
        return confirm.sorted()
    }
}
