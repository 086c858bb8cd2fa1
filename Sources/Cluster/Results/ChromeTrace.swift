import Foundation
import PIMModule
import Pipeline

/// Writes the Chrome trace-event format (JSON object with `traceEvents`), which Perfetto UI and
/// chrome://tracing open: one thread per track inside one process, complete events ("X") for spans,
/// instant events ("i"), thread names ("M"), and flow events ("s" / "t" / "f") that link each micro-batch
/// step's work from module to module. Times are microseconds (the format's unit), from picoseconds.
public enum ChromeTrace {
    public static func json(_ events: [TimelineEvent]) throws -> Data {
        var tracks: [String: Int] = [:]
        func tid(_ track: String) -> Int {
            if let t = tracks[track] { return t }
            tracks[track] = tracks.count + 1
            return tracks.count
        }
        func us(_ ps: Picoseconds) -> Double { Double(ps) / 1_000_000 }
        var out: [[String: Any]] = []
        let ordered = events.sorted { ($0.startPs, $0.track, $0.name) < ($1.startPs, $1.track, $1.name) }
        for e in ordered {
            var item: [String: Any] = [
                "name": e.name, "cat": e.track.hasPrefix("link") ? "link" : "compute",
                "pid": 1, "tid": tid(e.track), "ts": us(e.startPs),
            ]
            switch e.kind {
            case .span:
                item["ph"] = "X"
                item["dur"] = us(e.durationPs)
            case .instant:
                item["ph"] = "i"
                item["s"] = "t"
            }
            if let args = e.args { item["args"] = args }
            out.append(item)
        }
        // Flow arrows: the module spans of one (slot, step), in time order.
        // A module's own track is "module N"; its ops and channel groups are "module N …".
        func isModuleTrack(_ track: String) -> Bool {
            let words = track.split(separator: " ")
            return words.count == 2 && words[0] == "module"
        }
        let flows = Dictionary(
            grouping: ordered.filter {
                $0.kind == .span && isModuleTrack($0.track)
                    && $0.slot != nil && $0.step != nil
            },
            by: { "\($0.slot!)-\($0.step!)" })
        for (index, key) in flows.keys.sorted().enumerated() {
            let hops = flows[key]!
            guard hops.count > 1 else { continue }
            for (i, hop) in hops.enumerated() {
                let phase = i == 0 ? "s" : (i == hops.count - 1 ? "f" : "t")
                var item: [String: Any] = [
                    "name": "micro-batch \(key)", "cat": "flow", "ph": phase, "id": index + 1,
                    "pid": 1, "tid": tid(hop.track), "ts": us(hop.startPs),
                ]
                if phase == "f" { item["bp"] = "e" }
                out.append(item)
            }
        }
        // Tracks sorted by name with numbers compared as numbers: host, links, then each module followed by
        // its channel groups and ops.
        let names = tracks.keys.sorted { $0.compare($1, options: .numeric) == .orderedAscending }
        for (position, track) in names.enumerated() {
            let id = tracks[track]!
            out.append(["name": "thread_name", "ph": "M", "pid": 1, "tid": id, "args": ["name": track]])
            out.append(["name": "thread_sort_index", "ph": "M", "pid": 1, "tid": id, "args": ["sort_index": position]])
        }
        out.append(["name": "process_name", "ph": "M", "pid": 1, "args": ["name": "lolpim (simulated time)"]])
        return try JSONSerialization.data(
            withJSONObject: ["traceEvents": out, "displayTimeUnit": "ns"],
            options: [.sortedKeys])
    }
}
