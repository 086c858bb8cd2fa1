import Foundation

/// How the processes of a run talk: all in one process over `inproc://`, or separate processes over
/// `ipc://` (Unix domain sockets) or `tcp://`.
public enum TransportKind: String, Sendable, CaseIterable {
    case inproc, ipc, tcp
}

/// Endpoint names for a run. Workers derive their data endpoint from the coordinator's control endpoint:
/// same transport, same directory (ipc) or name prefix (inproc), an ephemeral port on `bindHost` (tcp).
public enum Endpoints {
    public static func control(_ kind: TransportKind, runDirectory: String, port: Int) -> String {
        switch kind {
        case .inproc: return "inproc://\(runDirectory)/control"
        case .ipc: return "ipc://\(runDirectory)/control.sock"
        case .tcp: return "tcp://127.0.0.1:\(port == 0 ? "*" : String(port))"
        }
    }

    /// Where the coordinator receives micro-batches back from the last stage.
    public static func returnPath(forControl control: String, bindHost: String = "127.0.0.1") -> String {
        sibling(of: control, name: "return", bindHost: bindHost)
    }

    /// Where worker `rank` binds its data socket.
    public static func workerData(forControl control: String, rank: Int, bindHost: String = "127.0.0.1") -> String {
        sibling(of: control, name: "worker-\(rank)", bindHost: bindHost)
    }

    private static func sibling(of control: String, name: String, bindHost: String) -> String {
        if control.hasPrefix("tcp://") { return "tcp://\(bindHost):*" }
        if control.hasPrefix("ipc://"), let slash = control.lastIndex(of: "/") {
            return "\(control[..<slash])/\(name).sock"
        }
        if control.hasPrefix("inproc://"), let slash = control.lastIndex(of: "/") {
            return "\(control[..<slash])/\(name)"
        }
        return control + "-" + name
    }
}
