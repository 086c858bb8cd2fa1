import Foundation
import PIMModule
import Workload

/// The timeline events of one micro-batch on one module (`lolpim run --trace`): the module's span (start to
/// finish, collectives included); its ops laid end to end (all layers of an op kind together, in decode order;
/// collectives not shown); optionally one track per channel group inside each op; the activation's transfer on
/// the outgoing link; and the DPA events of the micro-batch as instants.
struct StageTimeline {
    /// The module's track, "module R".
    let track: String
    let plan: StagePlan
    let member: Int
    let egress: Port
    /// Channel groups with a track each (0: none; see `StageSimulator.channelGroups`).
    let channelGroups: Int

    /// Events of `work`, which finished at `finish` and left at `depart` (nil: not forwarded), having
    /// released the KV of `released` requests.
    func events(
        _ work: StageSimulator.Work, finish: Picoseconds, depart: Picoseconds?, released: Int
    )
        -> [TimelineEvent]
    {
        var events = moduleSpans(work, finish: finish)
        if let depart {
            let transfer = egress.link.transferTime(bytes: work.payloadBytes)
            events.append(
                TimelineEvent(
                    track: "link from \(track)", name: "activation \(work.payloadBytes) B",
                    startPs: depart, durationPs: transfer + egress.link.latencyPs, microBatch: work.microBatch,
                    step: work.step))
        }
        let counts = Dictionary(grouping: work.events, by: { $0 }).mapValues(\.count)
        for (kind, count) in counts.sorted(by: { $0.key.rawValue < $1.key.rawValue }) {
            events.append(
                TimelineEvent(
                    kind: .instant, track: track, name: "DPA \(kind.rawValue) ×\(count)", startPs: work.start))
        }
        if released > 0 {
            events.append(
                TimelineEvent(kind: .instant, track: track, name: "DPA request_end ×\(released)", startPs: finish))
        }
        return events
    }

    /// The module's span, then its ops (and their channel groups) end to end.
    private func moduleSpans(_ work: StageSimulator.Work, finish: Picoseconds) -> [TimelineEvent] {
        var args = ["requests": "\(work.requests)", "layers": "\(plan.layers)"]
        if plan.tp > 1 { args["tp_member"] = "\(member) of \(plan.tp)" }
        var events = [
            TimelineEvent(
                track: track, name: "micro-batch \(work.microBatch) step \(work.step)", startPs: work.start,
                durationPs: finish - work.start, microBatch: work.microBatch, step: work.step, args: args)
        ]
        var at = work.start
        for kind in OpKind.allCases {
            guard let time = work.cost.byKind[kind], time > 0 else { continue }
            events.append(
                TimelineEvent(
                    track: track + " ops", name: kind.rawValue, startPs: at, durationPs: time,
                    microBatch: work.microBatch, step: work.step))
            if channelGroups > 0, let busy = work.cost.channelBusy[kind] {
                events += channelSpans(busy, kind: kind, start: at, opTime: time, work: work)
            }
            at += time
        }
        return events
    }

    /// One span per channel group inside an op: from the op's start for as long as the group's busiest
    /// channel works (all layers of the op kind together), with the group's mean busy fraction.
    private func channelSpans(
        _ busy: [Picoseconds], kind: OpKind, start: Picoseconds, opTime: Picoseconds, work: StageSimulator.Work
    ) -> [TimelineEvent] {
        let groups = min(channelGroups, busy.count)
        var events: [TimelineEvent] = []
        for g in 0..<groups {
            // Group g is channels g·n/groups ..< (g+1)·n/groups (smaller groups first), not `EvenSplit`'s order:
            // the tracks keep the names they always had.
            let channels = busy[(g * busy.count / groups)..<((g + 1) * busy.count / groups)]
            let longest = channels.max() ?? 0
            guard longest > 0 else { continue }
            let mean = Double(channels.reduce(0, +)) / Double(channels.count) / Double(opTime)
            let name =
                channels.count == 1
                ? "channel \(channels.startIndex)"
                : "channels \(channels.startIndex)-\(channels.endIndex - 1)"
            events.append(
                TimelineEvent(
                    track: "\(track) \(name)", name: kind.rawValue, startPs: start, durationPs: longest,
                    microBatch: work.microBatch, step: work.step,
                    args: ["busy_percent": String(format: "%.1f", 100 * mean)]))
        }
        return events
    }
}
