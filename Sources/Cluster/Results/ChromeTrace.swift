import Foundation
import PIMModule
import Pipeline

/// Writes the Chrome trace-event format (JSON object with `traceEvents`), which Perfetto UI and
/// chrome://tracing open: one thread per track inside one process, complete events ("X") for spans,
/// instant events ("i"), thread names ("M"), and flow events ("s" / "t" / "f") that link each micro-batch
/// step's work from module to module. Times are microseconds (the format's unit), from picoseconds.
public enum ChromeTrace {
    /// The trace as JSON, written directly (keys in sorted order, no spaces): a run's timeline holds millions
    /// of events, and Foundation's JSONSerialization took minutes on them.
    public static func json(_ events: [TimelineEvent]) throws -> Data {
        var tracks: [String: Int] = [:]
        func tid(_ track: String) -> Int {
            if let t = tracks[track] { return t }
            tracks[track] = tracks.count + 1
            return tracks.count
        }
        var out = JSONText()
        out.raw("{\"displayTimeUnit\":\"ns\",\"traceEvents\":[")
        let ordered = events.sorted { ($0.startPs, $0.track, $0.name) < ($1.startPs, $1.track, $1.name) }
        for e in ordered {
            // Keys in sorted order: args, cat, dur, name, ph, pid, s, tid, ts.
            out.open()
            if let args = e.args {
                out.field("args", object: args.sorted { $0.key < $1.key }.map { ($0.key, $0.value) })
            }
            out.field("cat", string: e.track.hasPrefix("link") ? "link" : "compute")
            if e.kind == .span { out.field("dur", microseconds: e.durationPs) }
            out.field("name", string: e.name)
            out.field("ph", string: e.kind == .span ? "X" : "i")
            out.field("pid", int: 1)
            if e.kind == .instant { out.field("s", string: "t") }
            out.field("tid", int: tid(e.track))
            out.field("ts", microseconds: e.startPs)
            out.close()
        }
        // Flow arrows: the module spans of one (micro-batch, step), in time order.
        // A module's own track is "module N"; its ops and channel groups are "module N …".
        func isModuleTrack(_ track: String) -> Bool {
            let words = track.split(separator: " ")
            return words.count == 2 && words[0] == "module"
        }
        let flows = Dictionary(
            grouping: ordered.filter {
                $0.kind == .span && isModuleTrack($0.track)
                    && $0.microBatch != nil && $0.step != nil
            },
            by: { "\($0.microBatch!)-\($0.step!)" })
        for (index, key) in flows.keys.sorted().enumerated() {
            let hops = flows[key]!
            guard hops.count > 1 else { continue }
            for (i, hop) in hops.enumerated() {
                let phase = i == 0 ? "s" : (i == hops.count - 1 ? "f" : "t")
                out.open()
                if phase == "f" { out.field("bp", string: "e") }
                out.field("cat", string: "flow")
                out.field("id", int: index + 1)
                out.field("name", string: "micro-batch \(key)")
                out.field("ph", string: phase)
                out.field("pid", int: 1)
                out.field("tid", int: tid(hop.track))
                out.field("ts", microseconds: hop.startPs)
                out.close()
            }
        }
        // Tracks sorted by name with numbers compared as numbers: host, links, then each module followed by
        // its channel groups and ops.
        let names = tracks.keys.sorted { $0.compare($1, options: .numeric) == .orderedAscending }
        for (position, track) in names.enumerated() {
            let id = tracks[track]!
            out.open()
            out.field("args", object: [("name", track)])
            out.field("name", string: "thread_name")
            out.field("ph", string: "M")
            out.field("pid", int: 1)
            out.field("tid", int: id)
            out.close()
            out.open()
            out.field("args", raw: "{\"sort_index\":\(position)}")
            out.field("name", string: "thread_sort_index")
            out.field("ph", string: "M")
            out.field("pid", int: 1)
            out.field("tid", int: id)
            out.close()
        }
        out.open()
        out.field("args", object: [("name", "lolpim (simulated time)")])
        out.field("name", string: "process_name")
        out.field("ph", string: "M")
        out.field("pid", int: 1)
        out.close()
        out.raw("]}")
        return Data(out.text.utf8)
    }
}

/// A JSON text written piece by piece: objects in an array, their fields in the order written.
private struct JSONText {
    private(set) var text = ""
    private var firstField = true
    private var firstObject = true

    mutating func raw(_ s: String) { text += s }

    /// Starts an object in the enclosing array.
    mutating func open() {
        text += firstObject ? "{" : ",{"
        firstObject = false
        firstField = true
    }

    mutating func close() { text += "}" }

    mutating func field(_ name: String, raw value: String) {
        text += (firstField ? "\"" : ",\"") + name + "\":" + value
        firstField = false
    }

    mutating func field(_ name: String, string value: String) { field(name, raw: Self.quoted(value)) }
    mutating func field(_ name: String, int value: Int) { field(name, raw: String(value)) }

    /// Picoseconds as microseconds, the trace format's unit.
    mutating func field(_ name: String, microseconds ps: Picoseconds) {
        field(name, raw: "\(Double(ps) / 1_000_000)")
    }

    /// An object of string values, keys as given.
    mutating func field(_ name: String, object pairs: [(String, String)]) {
        field(name, raw: "{" + pairs.map { Self.quoted($0.0) + ":" + Self.quoted($0.1) }.joined(separator: ",") + "}")
    }

    /// `s` as a JSON string: quotes, backslashes and control characters escaped.
    static func quoted(_ s: String) -> String {
        var out = "\""
        for scalar in s.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case let c where c.value < 0x20:
                let hex = String(c.value, radix: 16)
                out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out + "\""
    }
}
