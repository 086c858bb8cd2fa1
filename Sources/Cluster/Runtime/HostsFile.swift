import Foundation
import Workload

/// Where the workers of a multi-host run go (`lolpim run --hosts FILE`, `./launch.sh --hosts FILE`).
///
/// A text file, one entry per line; `#` starts a comment:
///
///     coordinator 10.0.0.1          # the address workers reach the coordinator at (it binds there)
///     node1 workers=4               # the next 4 ranks
///     node2 ranks=4-7 address=10.0.0.2
///     node3                         # shares the ranks nobody claimed with the other hosts without a count
///
/// `HOST` is what the remote shell is given (`ssh HOST …`). `address=` is the IPv4 address the host's
/// workers bind their data sockets to (default: the host's address on the route to the coordinator, which
/// the worker finds itself). Ranks are assigned in this order: `ranks=` ranges, then `workers=` counts in
/// file order (lowest free ranks first), then the remaining ranks in contiguous blocks over the hosts
/// without either, so that neighbouring pipeline stages share a host where they can. With a network
/// (`network:` in the topology) those remaining ranks go node by node instead: the workers of simulated node i
/// on the i-th host without either (modulo their number), so that the physical run mirrors the simulated layout.
public struct HostsFile: Sendable, Equatable {
    public struct Entry: Sendable, Equatable {
        public var host: String
        public var workers: Int?
        public var ranks: ClosedRange<Int>?
        public var address: String?
        public var line: Int
    }

    /// Where one worker runs.
    public struct Placement: Sendable, Equatable {
        public var rank: Int
        public var host: String
        public var address: String?
    }

    public var file: String
    /// The coordinator's address from a `coordinator` line.
    public var coordinator: String?
    public var entries: [Entry]

    /// The largest hosts file read (1 MiB: some ten thousand hosts).
    public static let maxFileBytes = 1 << 20

    public static func load(path: String) throws -> HostsFile {
        try parse(InputFile.text(path, what: "hosts file", maxBytes: maxFileBytes), file: path)
    }

    public static func parse(_ text: String, file: String) throws -> HostsFile {
        var result = HostsFile(file: file, coordinator: nil, entries: [])
        // LF or CRLF line ends (a String holds "\r\n" as one Character).
        let lines = text.split(omittingEmptySubsequences: false, whereSeparator: { $0 == "\n" || $0 == "\r\n" })
        for (index, raw) in lines.enumerated() {
            let line = index + 1
            func fail(_ message: String) -> InputFileError { InputFileError(file: file, line: line, message: message) }
            let words = raw.prefix { $0 != "#" }.split(whereSeparator: \.isWhitespace).map(String.init)
            guard let first = words.first else { continue }
            if first == "coordinator" {
                guard words.count == 2 else { throw fail("expected `coordinator ADDRESS`") }
                guard result.coordinator == nil else { throw fail("a second `coordinator` line") }
                if let problem = NetworkAddress.hostProblem(words[1]) { throw fail("coordinator: \(problem)") }
                result.coordinator = words[1]
                continue
            }
            var entry = Entry(host: first, line: line)
            for word in words.dropFirst() {
                let pair = word.split(separator: "=", maxSplits: 1).map(String.init)
                guard pair.count == 2 else {
                    throw fail("expected KEY=VALUE (workers=N, ranks=A-B, address=IP), got `\(word)`")
                }
                switch pair[0] {
                case "workers":
                    guard let n = Int(pair[1]), n >= 1 else {
                        throw fail("workers: expected an integer ≥ 1, got `\(pair[1])`")
                    }
                    entry.workers = n
                case "ranks":
                    let bounds = pair[1].split(separator: "-", omittingEmptySubsequences: false).map { Int($0) }
                    guard (1...2).contains(bounds.count), let low = bounds[0], let high = bounds.last!, low >= 0,
                        high >= low
                    else {
                        throw fail("ranks: expected A-B with 0 ≤ A ≤ B (or one rank A), got `\(pair[1])`")
                    }
                    entry.ranks = low...high
                case "address":
                    guard NetworkAddress.isIPv4(pair[1]) else {
                        throw fail("address: expected an IPv4 address, got `\(pair[1])`")
                    }
                    entry.address = pair[1]
                default:
                    throw fail("unknown key `\(pair[0])` (expected workers, ranks or address)")
                }
            }
            guard entry.workers == nil || entry.ranks == nil else { throw fail("give workers= or ranks=, not both") }
            result.entries.append(entry)
        }
        guard !result.entries.isEmpty else {
            let empty = text.allSatisfy(\.isWhitespace)
            throw InputFileError(
                file: file, line: nil,
                message: (empty ? "the hosts file is empty" : "lists no host")
                    + ": give one line per host (HOST [workers=N | ranks=A-B] [address=IP]), see docs/CLI.md §13")
        }
        return result
    }

    /// Every rank of a `workers`-worker run placed on a host (see the type's documentation for the order).
    /// `nodeOfRank`: each rank's simulated node, with a network.
    public func assign(workers: Int, nodeOfRank: [Int]? = nil) throws -> [Placement] {
        var owner: [Int: Entry] = [:]
        for entry in entries {
            guard let ranks = entry.ranks else { continue }
            for rank in ranks {
                guard rank < workers else {
                    throw InputFileError(
                        file: file, line: entry.line,
                        message:
                            "ranks=\(ranks.lowerBound)-\(ranks.upperBound): the topology has only \(workers) "
                            + "workers (ranks 0-\(workers - 1))"
                    )
                }
                if let other = owner[rank] {
                    throw InputFileError(
                        file: file, line: entry.line,
                        message: "rank \(rank) is already on \(other.host) (line \(other.line))")
                }
                owner[rank] = entry
            }
        }
        var free = (0..<workers).filter { owner[$0] == nil }
        for entry in entries {
            guard let count = entry.workers else { continue }
            guard count <= free.count else {
                throw InputFileError(
                    file: file, line: entry.line,
                    message: "workers=\(count): only \(free.count) of the topology's \(workers) ranks are left")
            }
            for rank in free.prefix(count) { owner[rank] = entry }
            free.removeFirst(count)
        }
        let flexible = entries.filter { $0.workers == nil && $0.ranks == nil }
        if !free.isEmpty {
            guard !flexible.isEmpty else {
                throw InputFileError(
                    file: file, line: nil,
                    message: "ranks \(free.map(String.init).joined(separator: ", ")) have no host: raise a "
                        + "workers= count or add a host without one")
            }
            if let nodeOfRank {
                for rank in free { owner[rank] = flexible[nodeOfRank[rank] % flexible.count] }
            } else {
                var start = 0
                for (i, entry) in flexible.enumerated() {
                    let count = EvenSplit.share(free.count, parts: flexible.count, index: i)
                    for rank in free[start..<(start + count)] { owner[rank] = entry }
                    start += count
                }
            }
        }
        return (0..<workers).map { Placement(rank: $0, host: owner[$0]!.host, address: owner[$0]!.address) }
    }
}
