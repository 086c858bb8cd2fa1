import Foundation

/// How `lolpim run --hosts FILE` starts workers on other machines: through a remote shell (by default
/// `ssh -o BatchMode=yes -o ConnectTimeout=10 HOST COMMAND`), running the lolpim binary found at
/// `remoteBinary` there (by default the same path as here: install it at the same path on every host,
/// or use a shared file system).
public struct RemoteWorkers: Sendable {
    /// Where each rank runs.
    public var placements: [HostsFile.Placement]
    /// The address the coordinator binds and the workers connect to.
    public var coordinatorAddress: String
    /// The remote shell as words: the program, then its options; the host and the command follow.
    public var shell: [String]
    /// Path of the lolpim executable on the remote hosts.
    public var remoteBinary: String

    public static let defaultShell = "ssh -o BatchMode=yes -o ConnectTimeout=10"

    public init(
        placements: [HostsFile.Placement], coordinatorAddress: String, shell: String = RemoteWorkers.defaultShell,
        remoteBinary: String
    ) {
        self.placements = placements
        self.coordinatorAddress = coordinatorAddress
        self.shell = shell.split(whereSeparator: \.isWhitespace).map(String.init)
        self.remoteBinary = remoteBinary
    }

    /// The remote shell's program, as a path (looked up on PATH when it has no slash).
    var shellExecutable: String {
        let program = shell.first ?? "ssh"
        if program.contains("/") { return program }
        let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"
        return path.split(separator: ":").map { "\($0)/\(program)" }.first(where: FileManager.default.isExecutableFile)
            ?? program
    }

    /// The command line the remote shell runs: the remote binary and `arguments`, each quoted for a POSIX shell.
    func command(_ arguments: [String]) -> String {
        ([remoteBinary] + arguments).map(Self.quoted).joined(separator: " ")
    }

    /// `word` in single quotes, safe for `sh`.
    static func quoted(_ word: String) -> String {
        "'" + word.replacingOccurrences(of: "'", with: "'\\''") + "'"
    }
}
