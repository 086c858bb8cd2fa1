import Foundation
import PIMModule

/// A single progress line on stderr, redrawn in place on a terminal (at most 10 times a second) and printed
/// every 10% otherwise.
final class ProgressLine {
    let enabled: Bool
    /// Tokens the run generates.
    let total: Int
    let isTerminal = isatty(STDERR_FILENO) != 0
    let startMs = WallClock.monotonicMs()
    var lastDrawMs: Int64 = 0
    var lastDecile = -1

    init(enabled: Bool, total: Int) {
        self.enabled = enabled
        self.total = total
    }

    func update(completed: Int, simulatedPs: Picoseconds) {
        guard enabled else { return }
        let now = WallClock.monotonicMs()
        let decile = completed * 10 / max(total, 1)
        if isTerminal ? (now - lastDrawMs < 100 && completed < total) : decile == lastDecile { return }
        lastDrawMs = now
        lastDecile = decile
        let line = String(
            format: "decoding: %3d%%  %d/%d tokens  simulated %.3f ms  wall %.1f s",
            completed * 100 / max(total, 1), completed, total,
            Time.seconds(simulatedPs) * 1000, Double(now - startMs) / 1000)
        FileHandle.standardError.write(Data(((isTerminal ? "\r\u{1B}[K" : "") + line + (isTerminal ? "" : "\n")).utf8))
    }

    func finish() {
        if enabled && isTerminal { FileHandle.standardError.write(Data("\n".utf8)) }
    }
}
