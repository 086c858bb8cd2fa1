/// The text `lolpim run --search-parallelism` prints: one row per split of the cluster.
public enum ParallelismTable {
    public static func render(_ outcome: ParallelismSearch.Outcome) -> String {
        var lines = ["   tp    pp   throughput tokens/s   status"]
        for c in outcome.candidates {
            let status: String
            if let problem = c.problem {
                status = "invalid: \(problem)"
            } else if outcome.throughput[c.tp] == nil {
                status = "failed (see the CSV)"
            } else {
                status = c == outcome.best ? "best" : "ran"
            }
            let throughput =
                outcome.throughput[c.tp].map { String(format: "%20.1f", $0) }
                ?? String(repeating: " ", count: 19) + "–"
            lines.append(String(format: " %4d  %4d ", c.tp, c.pp) + throughput + "   " + status)
        }
        if let best = outcome.best {
            lines.append("best split: tp \(best.tp) × pp \(best.pp) (set parallelism.tp: \(best.tp) in the topology)")
        }
        lines.append("results: \(outcome.csv) (each split's run under \(outcome.csv.dropLast(4))-points/)")
        return lines.joined(separator: "\n")
    }
}
