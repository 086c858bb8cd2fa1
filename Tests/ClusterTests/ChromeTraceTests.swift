import Cluster
import Foundation
import Pipeline
import Testing

@Suite("Chrome trace writer")
struct ChromeTraceTests {
    @Test("the trace is valid JSON: spans, instants, flows and track names, with every string escaped")
    func writer() throws {
        let awkward = "quote \" backslash \\ newline \n tab \t bell \u{07} é"
        let events = [
            TimelineEvent(
                track: "module 0", name: "micro-batch 0 step 0", startPs: 1_000_000, durationPs: 2_500_000,
                microBatch: 0,
                step: 0, args: ["requests": "2", "note": awkward]),
            TimelineEvent(
                track: "module 1", name: awkward, startPs: 4_000_000, durationPs: 1_000_000, microBatch: 0, step: 0),
            TimelineEvent(kind: .instant, track: "module 1", name: "DPA new_chunk ×2", startPs: 4_000_000),
            TimelineEvent(track: "link from module 0", name: "activation 8192 B", startPs: 3_500_000, durationPs: 1),
        ]
        let data = try ChromeTrace.json(events)
        let root = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        #expect(root["displayTimeUnit"] as? String == "ns")
        let items = try #require(root["traceEvents"] as? [[String: Any]])
        let spans = items.filter { $0["ph"] as? String == "X" }
        #expect(spans.count == 3)
        // Sorted by start time; microseconds from picoseconds.
        #expect(spans.map { $0["ts"] as? Double } == [1, 3.5, 4])
        #expect(spans[0]["dur"] as? Double == 2.5)
        #expect((spans[0]["args"] as? [String: String])?["note"] == awkward)
        #expect(spans[2]["name"] as? String == awkward)
        #expect(spans[1]["cat"] as? String == "link")
        let instant = try #require(items.first { $0["ph"] as? String == "i" })
        #expect(instant["s"] as? String == "t" && instant["name"] as? String == "DPA new_chunk ×2")
        // One flow from module 0 to module 1 for micro-batch 0, step 0: a start and a finish bound to the enclosing
        // span.
        let flows = items.filter { $0["cat"] as? String == "flow" }
        #expect(flows.map { $0["ph"] as? String } == ["s", "f"] && flows[1]["bp"] as? String == "e")
        let threads = items.filter { $0["name"] as? String == "thread_name" }
            .compactMap { ($0["args"] as? [String: String])?["name"] }
        #expect(threads == ["link from module 0", "module 0", "module 1"])
        #expect(items.contains { $0["name"] as? String == "process_name" })
    }
}
