import Foundation

/// IPv4 addresses for runs that span machines: name resolution, and which local address reaches a peer.
public enum NetworkAddress {
    /// The host and port of a `tcp://HOST:PORT` endpoint; nil when it is not one (no host or no port).
    public static func tcpParts(_ endpoint: String) -> (host: String, port: String)? {
        guard endpoint.hasPrefix("tcp://") else { return nil }
        let rest = endpoint.dropFirst("tcp://".count)
        guard let colon = rest.lastIndex(of: ":") else { return nil }
        let host = rest[..<colon]
        let port = rest[rest.index(after: colon)...]
        guard !host.isEmpty, !port.isEmpty else { return nil }
        return (String(host), String(port))
    }

    /// Why `endpoint` cannot be bound (`binding`) or connected to, or nil when it can: `tcp://HOST:PORT` with a
    /// port 1 … 65535 (`*` or 0, an ephemeral port, only to bind), `ipc://PATH` or `inproc://NAME`.
    public static func endpointProblem(_ endpoint: String, binding: Bool) -> String? {
        let shown = SafeText.clip(endpoint, limit: 100)
        if endpoint.hasPrefix("tcp://") {
            guard let (host, port) = tcpParts(endpoint) else {
                return "'\(shown)' is not tcp://HOST:PORT (a host and a port are needed)"
            }
            if let problem = hostProblem(host) { return "'\(shown)': \(problem)" }
            return portProblem(port, binding: binding).map { "'\(shown)': \($0)" }
        }
        for scheme in ["ipc://", "inproc://"] where endpoint.hasPrefix(scheme) {
            return endpoint.count > scheme.count ? nil : "'\(shown)' names no \(scheme == "ipc://" ? "path" : "name")"
        }
        return "'\(shown)' is not an endpoint: expected tcp://HOST:PORT, ipc://PATH or inproc://NAME"
    }

    /// Why `port` is not a TCP port (1 … 65535; `*` or 0 for an ephemeral one when binding), or nil.
    public static func portProblem(_ port: String, binding: Bool) -> String? {
        if binding && port == "*" { return nil }
        guard port.utf8.allSatisfy({ (0x30...0x39).contains($0) }), let number = Int(port),
            (binding ? 0 : 1)...65_535 ~= number
        else {
            return "the port must be a number between \(binding ? 0 : 1) and 65535"
                + "\(binding ? " (or *: any free port)" : ""), got '\(SafeText.clip(port, limit: 20))'"
        }
        return nil
    }

    /// Why `host` cannot name one machine (empty, a wildcard, blanks, or a path or port inside), or nil.
    public static func hostProblem(_ host: String) -> String? {
        if host.isEmpty { return "no host given" }
        if isWildcard(host) {
            return "'\(host)' means every interface; give the address of one interface (the one other machines "
                + "reach this one at)"
        }
        let allowed = host.unicodeScalars.allSatisfy {
            ("a"..."z").contains($0) || ("A"..."Z").contains($0) || ("0"..."9").contains($0)
                || "-._".unicodeScalars.contains($0)
        }
        guard allowed, host.count <= 253 else {
            return "'\(SafeText.clip(host, limit: 60))' is not a host name or IPv4 address"
        }
        return nil
    }

    /// Whether `host` is a dotted-quad IPv4 address.
    public static func isIPv4(_ host: String) -> Bool {
        var address = in_addr()
        return inet_pton(AF_INET, host, &address) == 1
    }

    /// Whether `host` means every interface.
    public static func isWildcard(_ host: String) -> Bool { host == "*" || host == "0.0.0.0" }

    /// The IPv4 address a host name (or dotted quad) resolves to, nil if it does not resolve.
    public static func resolve(_ host: String) -> String? {
        if isIPv4(host) { return host }
        var hints = addrinfo()
        hints.ai_family = AF_INET
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        var list: UnsafeMutablePointer<addrinfo>?
        guard getaddrinfo(host, nil, &hints, &list) == 0, let first = list else { return nil }
        defer { freeaddrinfo(list) }
        return first.pointee.ai_addr.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { text($0.pointee.sin_addr) }
    }

    /// The local IPv4 address this machine would use to reach `host` (a route lookup: a UDP socket is
    /// connected, which sends nothing, and asked for its own address). Nil when `host` does not resolve or
    /// no route leads there.
    public static func local(toward host: String) -> String? {
        guard let remote = resolve(host) else { return nil }
        let fd = socket(AF_INET, Int32(SOCK_DGRAM.rawValue), 0)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var target = sockaddr_in()
        target.sin_family = sa_family_t(AF_INET)
        target.sin_port = UInt16(9).bigEndian  // any port: nothing is sent
        inet_pton(AF_INET, remote, &target.sin_addr)
        let connected = withUnsafePointer(to: &target) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        guard connected == 0 else { return nil }
        var mine = sockaddr_in()
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let named = withUnsafeMutablePointer(to: &mine) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
        }
        return named == 0 ? text(mine.sin_addr) : nil
    }

    private static func text(_ address: in_addr) -> String {
        var address = address
        var buffer = [CChar](repeating: 0, count: Int(INET_ADDRSTRLEN))
        inet_ntop(AF_INET, &address, &buffer, socklen_t(buffer.count))
        return String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}
