import CZMQ
import Foundation
import Synchronization

/// A ZAP handler (ZeroMQ RFC 27) for one context: every CURVE server socket of that context asks it whether a
/// connecting client's public key may connect. Clients whose key is not in `authorized` are refused (status
/// 400) and the connection is dropped before any message passes; each refusal is reported to `onRefusal`.
///
/// It runs on its own thread with a REP socket bound to `inproc://zeromq.zap.01`, created, used and closed on
/// that thread. Call `stop()` before the context goes away (the context waits for every socket).
public final class ZAPAuthenticator: Sendable {
    public static let endpoint = "inproc://zeromq.zap.01"

    /// What the handler's thread and the owner share.
    private final class State: Sendable {
        let stopRequested = Atomic<Bool>(false)
        let finished = DispatchSemaphore(value: 0)
        let refused = Mutex<[String]>([])
    }
    private let state = State()

    /// Starts the handler; returns once its socket is bound (throws if that fails, e.g. when the context
    /// already has a ZAP handler).
    /// - Parameters:
    ///   - authorized: Z85 public keys allowed to connect.
    ///   - onRefusal: called on the handler's thread with a sentence about each refused peer.
    public init(
        context: Context, authorized: Set<String>,
        onRefusal: @escaping @Sendable (String) -> Void = { _ in }
    ) throws {
        let started = DispatchSemaphore(value: 0)
        let startError = Mutex<TransportError?>(nil)
        let thread = Thread { [state] in
            defer { state.finished.signal() }
            let socket: Socket
            do {
                socket = try Socket(context, .rep)
                try socket.set(.linger(0))
                try socket.bind(Self.endpoint)
            } catch {
                startError.withLock {
                    $0 = (error as? TransportError) ?? TransportError(code: EINVAL, operation: "ZAP handler")
                }
                started.signal()
                return
            }
            started.signal()
            defer { socket.close() }
            while !state.stopRequested.load(ordering: .relaxed) {
                guard (try? Poller().readable([socket], timeoutMs: 100).first) == true,
                    let request = try? socket.receive(dontWait: true)
                else { continue }
                let (reply, refusal) = Self.answer(request.map(\.bytes), authorized: authorized)
                if let refusal {
                    state.refused.withLock { $0.append(refusal) }
                    onRefusal(refusal)
                }
                _ = try? socket.send(bytes: reply)
            }
        }
        thread.name = "lolpim ZAP"
        thread.start()
        started.wait()
        if let error = startError.withLock({ $0 }) { throw error }
    }

    /// The reply to one ZAP request, and the refusal to report (nil when the peer is allowed).
    static func answer(_ frames: [[UInt8]], authorized: Set<String>) -> (reply: [[UInt8]], refusal: String?) {
        func reply(_ id: [UInt8], _ code: String, _ text: String, user: String = "") -> [[UInt8]] {
            [Array("1.0".utf8), id, Array(code.utf8), Array(text.utf8), Array(user.utf8), []]
        }
        // version, request id, domain, address, routing id, mechanism, credentials…
        guard frames.count >= 6, frames[0] == Array("1.0".utf8) else {
            let id = frames.count > 1 ? frames[1] : []
            return (reply(id, "500", "malformed ZAP request"), "a malformed ZAP request")
        }
        let id = frames[1], address = String(decoding: frames[3], as: UTF8.self)
        let mechanism = String(decoding: frames[5], as: UTF8.self)
        guard mechanism == "CURVE", frames.count >= 7, let key = Curve.z85(frames[6]) else {
            return (
                reply(id, "400", "CURVE required"),
                "refused a peer at \(address): it did not use CURVE (mechanism \(mechanism))"
            )
        }
        guard authorized.contains(key) else {
            return (
                reply(id, "400", "key not authorised"),
                "refused a peer at \(address): public key \(key) is not authorised"
            )
        }
        return (reply(id, "200", "OK", user: key), nil)
    }

    /// Sentences about every peer refused so far.
    public var refusals: [String] { state.refused.withLock { $0 } }

    /// Stops the handler and waits for its thread to close its socket. Idempotent.
    public func stop() {
        guard !state.stopRequested.exchange(true, ordering: .relaxed) else { return }
        state.finished.wait()
    }

    deinit { stop() }
}
