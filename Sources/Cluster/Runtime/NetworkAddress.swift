import Foundation

/// IPv4 addresses for runs that span machines: name resolution, and which local address reaches a peer.
public enum NetworkAddress {
    /// The host and port of a `tcp://HOST:PORT` endpoint.
    public static func tcpParts(_ endpoint: String) -> (host: String, port: String)? {
        guard endpoint.hasPrefix("tcp://"), let colon = endpoint.lastIndex(of: ":") else { return nil }
        let host = endpoint[endpoint.index(endpoint.startIndex, offsetBy: 6)..<colon]
        let port = endpoint[endpoint.index(after: colon)...]
        guard !host.isEmpty, !port.isEmpty else { return nil }
        return (String(host), String(port))
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
