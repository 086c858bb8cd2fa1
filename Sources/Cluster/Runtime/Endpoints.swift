import Foundation

/// How the processes of a run talk: all in one process over `inproc://`, or separate processes over
/// `ipc://` (Unix domain sockets) or `tcp://`.
public enum TransportKind: String, Sendable, CaseIterable {
    case inproc, ipc, tcp
}

/// Endpoint names for a run. Workers derive their data endpoint from the coordinator's control endpoint:
/// same transport, same directory (ipc) or name prefix (inproc), an ephemeral port (tcp). Local runs bind
/// loopback only.
public enum Endpoints {
    public static func control(_ kind: TransportKind, runDirectory: String, port: Int) -> String {
        switch kind {
        case .inproc: return "inproc://\(runDirectory)/control"
        case .ipc: return "ipc://\(runDirectory)/control.sock"
        case .tcp: return "tcp://127.0.0.1:\(port == 0 ? "*" : String(port))"
        }
    }

    /// Where the coordinator receives micro-batches back from the last stage: beside the control socket (for
    /// tcp, an ephemeral port on the address the control socket is bound to).
    public static func returnPath(forControl control: String) -> String {
        sibling(of: control, name: "return", bindHost: NetworkAddress.tcpParts(control)?.host ?? "127.0.0.1")
    }

    /// Where worker `rank` binds its data socket: beside the control endpoint (for tcp, an ephemeral port on
    /// the local address that reaches the coordinator, so a worker on another machine binds the interface
    /// its peers can reach and nothing else; loopback when the coordinator is local).
    public static func workerData(forControl control: String, rank: Int) -> String {
        let host = NetworkAddress.tcpParts(control).flatMap { NetworkAddress.local(toward: $0.host) } ?? "127.0.0.1"
        return sibling(of: control, name: "worker-\(rank)", bindHost: host)
    }

    /// Where worker `rank` binds its tensor-parallel socket: beside its data endpoint `data` (same address,
    /// another ephemeral port for tcp; `worker-N-tp` for ipc and inproc).
    public static func tensorParallel(besideData data: String, rank: Int) -> String {
        sibling(of: data, name: "worker-\(rank)-tp", bindHost: NetworkAddress.tcpParts(data)?.host ?? "127.0.0.1")
    }

    /// A tcp endpoint to bind with its host name resolved to an IPv4 address (libzmq binds interfaces and
    /// addresses, not names). Wildcard hosts are refused: peers on other machines could not tell which
    /// address to use for the sockets derived from it.
    public static func bindable(_ endpoint: String) throws -> String {
        guard let (host, port) = NetworkAddress.tcpParts(endpoint) else { return endpoint }
        guard !NetworkAddress.isWildcard(host) else {
            throw RuntimeError.refused(
                "cannot bind \(endpoint): give the address of one interface (the one other "
                    + "machines reach this one at), not every interface")
        }
        guard let address = NetworkAddress.resolve(host) else {
            throw RuntimeError.refused(
                "cannot bind \(endpoint): the host name \(host) does not resolve to an IPv4 address")
        }
        return "tcp://\(address):\(port)"
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
