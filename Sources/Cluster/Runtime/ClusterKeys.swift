import Foundation
import Logging
import Transport
import Workload

/// CURVE security of a cluster (`--keys DIR`, made by `lolpim keys DIR`): one key pair that every member of
/// the cluster holds, and the public keys allowed to connect.
///
/// Every socket that binds (the coordinator's control and return sockets, each worker's data socket) is a
/// CURVE server whose ZAP handler accepts only clients whose public key is in `authorized`; every socket
/// that connects is a CURVE client that checks the server holds the cluster's secret key. Traffic is
/// encrypted. A process without the cluster's secret key can neither register nor inject a micro-batch,
/// and cannot read what passes.
public struct ClusterKeys: Sendable, Equatable {
    public var pair: CurveKeyPair
    /// Z85 public keys that may connect.
    public var authorized: Set<String>
    /// The directory the keys came from (passed on to the processes a launcher starts).
    public var directory: String

    public static let pairFile = "cluster.key"
    public static let authorizedFile = "authorized_keys"
    /// The ZAP domain of lolpim's sockets.
    public static let domain = "lolpim"

    /// Makes a fresh key pair in `directory` (created if missing): `cluster.key` (mode 0600) and
    /// `authorized_keys` with the pair's public key. Refuses to overwrite existing keys unless `force`.
    public static func create(in directory: String, force: Bool = false) throws -> ClusterKeys {
        let fm = FileManager.default
        let pairPath = path(directory, pairFile), authorizedPath = path(directory, authorizedFile)
        if !force, let existing = [pairPath, authorizedPath].first(where: fm.fileExists) {
            throw InputFileError(
                file: existing, line: nil, message: "already exists; pass --force to replace the cluster's keys")
        }
        let pair = try CurveKeyPair.generate()
        do {
            try fm.createDirectory(atPath: directory, withIntermediateDirectories: true)
            let secret = """
                # lolpim cluster key pair (CURVE, Z85). Keep it secret: whoever holds it can join the cluster.
                public-key = \(pair.publicKey)
                secret-key = \(pair.secretKey)

                """
            // Created 0600 from the start (never readable by others, not even briefly).
            if force { try? fm.removeItem(atPath: pairPath) }
            let fd = open(pairPath, O_CREAT | O_EXCL | O_WRONLY, 0o600)
            guard fd >= 0 else {
                throw InputFileError(
                    file: pairPath, line: nil, message: "cannot create it (\(String(cString: strerror(errno))))")
            }
            let bytes = Array(secret.utf8)
            let written = bytes.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
            close(fd)
            guard written == bytes.count else {
                throw InputFileError(file: pairPath, line: nil, message: "cannot write it")
            }
            let authorized = """
                # Public keys (Z85) allowed to connect to this cluster's coordinator and workers, one per line;
                # text after the key is a comment.
                \(pair.publicKey) cluster

                """
            try authorized.write(toFile: authorizedPath, atomically: true, encoding: .utf8)
        } catch let error as InputFileError {
            throw error
        } catch {
            throw InputFileError(
                file: directory, line: nil, message: "cannot write the keys (\(error.localizedDescription))")
        }
        return ClusterKeys(pair: pair, authorized: [pair.publicKey], directory: directory)
    }

    /// Reads `cluster.key` and `authorized_keys` from `directory`; every problem names the file and line.
    public static func load(from directory: String) throws -> ClusterKeys {
        let pairPath = path(directory, pairFile), authorizedPath = path(directory, authorizedFile)
        var fields: [String: String] = [:]
        for (number, line) in try lines(pairPath) {
            let parts = line.split(separator: "=", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }
            guard parts.count == 2, ["public-key", "secret-key"].contains(parts[0]) else {
                throw InputFileError(
                    file: pairPath, line: number, message: "expected `public-key = KEY` or `secret-key = KEY`")
            }
            guard Curve.isZ85Key(parts[1]) else {
                throw InputFileError(file: pairPath, line: number, message: "\(parts[0]): expected 40 Z85 characters")
            }
            fields[parts[0]] = parts[1]
        }
        guard let secret = fields["secret-key"] else {
            throw InputFileError(file: pairPath, line: nil, message: "no `secret-key = KEY` line")
        }
        guard let pair = CurveKeyPair(secretKey: secret) else {
            throw InputFileError(
                file: pairPath, line: nil, message: "secret-key is not a valid CURVE key (or this libzmq has no CURVE)")
        }
        if let pub = fields["public-key"], pub != pair.publicKey {
            throw InputFileError(file: pairPath, line: nil, message: "public-key does not belong to secret-key")
        }
        var authorized: Set<String> = []
        for (number, line) in try lines(authorizedPath) {
            let key = String(line.split(separator: " ", maxSplits: 1)[0])
            guard Curve.isZ85Key(key) else {
                throw InputFileError(
                    file: authorizedPath, line: number,
                    message: "expected a public key (40 Z85 characters), got `\(key)`")
            }
            authorized.insert(key)
        }
        guard !authorized.isEmpty else {
            throw InputFileError(file: authorizedPath, line: nil, message: "lists no key: nobody could connect")
        }
        return ClusterKeys(pair: pair, authorized: authorized, directory: directory)
    }

    /// Makes `socket` a CURVE server authenticated through the context's ZAP handler. Call before bind.
    public func secureServer(_ socket: Socket) throws {
        try socket.set(.curveServer(true))
        try socket.set(.curveSecretKey(pair.secretKey))
        try socket.set(.zapDomain(Self.domain))
    }

    /// Makes `socket` a CURVE client that expects the cluster's key on the other side. Call before connect.
    public func secureClient(_ socket: Socket) throws {
        try socket.set(.curveServerKey(pair.publicKey))
        try socket.set(.curvePublicKey(pair.publicKey))
        try socket.set(.curveSecretKey(pair.secretKey))
    }

    /// Starts the ZAP handler of `context`, logging each refused peer as a warning.
    public func authenticator(for context: Context, logger: Logger) throws -> ZAPAuthenticator {
        try ZAPAuthenticator(context: context, authorized: authorized) { refusal in logger.warning("\(refusal)") }
    }

    private static func path(_ directory: String, _ file: String) -> String {
        (directory as NSString).appendingPathComponent(file)
    }

    /// Non-blank, non-comment lines with their numbers.
    private static func lines(_ path: String) throws -> [(Int, String)] {
        let text: String
        do {
            text = try InputFile.text(path, what: "keys file", maxBytes: 1 << 20)
        } catch {
            throw InputFileError(
                file: path, line: error.line,
                message: "\(error.message); create the cluster's keys with `lolpim keys DIR`")
        }
        let lines = text.split(omittingEmptySubsequences: false, whereSeparator: { $0 == "\n" || $0 == "\r\n" })
        return lines.enumerated().compactMap { index, raw in
            let line = raw.trimmingCharacters(in: .whitespaces)
            return line.isEmpty || line.hasPrefix("#") ? nil : (index + 1, line)
        }
    }
}

extension Optional where Wrapped == ClusterKeys {
    /// Secures a binding socket when the cluster has keys.
    func secureServer(_ socket: Socket) throws { try self?.secureServer(socket) }
    /// Secures a connecting socket when the cluster has keys.
    func secureClient(_ socket: Socket) throws { try self?.secureClient(socket) }
}
