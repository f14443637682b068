import Foundation
import Synchronization

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// An IP address the executor may connect to, as text (`10.0.0.7`, `2001:db8::1`).
public struct HTTPAddress: Sendable, Hashable, CustomStringConvertible {
    /// 4 bytes for IPv4, 16 for IPv6.
    public var bytes: [UInt8]

    /// - Parameter bytes: 4 bytes (IPv4) or 16 bytes (IPv6); anything else traps.
    public init(bytes: [UInt8]) {
        precondition(bytes.count == 4 || bytes.count == 16, "an IP address has 4 or 16 bytes")
        self.bytes = bytes
    }

    /// Parses a numeric host the way the C library would connect to it: IPv6 text (brackets allowed), or IPv4 in
    /// any spelling `inet_aton` accepts (`169.254.169.254`, `2852039166`, `0xA9FEA9FE`, `0251.0376.0251.0376`,
    /// `169.254.43518`), with or without one trailing dot. `nil` for a name.
    public init?(numeric host: String) {
        var text = host
        if text.hasPrefix("["), text.hasSuffix("]") { text = String(text.dropFirst().dropLast()) }
        if text.hasSuffix(".") { text.removeLast() }
        guard !text.isEmpty else { return nil }
        if text.contains(":") {
            // Drop an IPv6 zone (`fe80::1%eth0`): the address is what matters.
            let core = text.split(separator: "%", maxSplits: 1).first.map(String.init) ?? text
            var v6 = in6_addr()
            guard inet_pton(AF_INET6, core, &v6) == 1 else { return nil }
            self.init(bytes: withUnsafeBytes(of: &v6) { Array($0) })
            return
        }
        var v4 = in_addr()
        guard inet_aton(text, &v4) != 0 else { return nil }
        self.init(bytes: withUnsafeBytes(of: &v4) { Array($0) })
    }

    public var isIPv6: Bool { bytes.count == 16 }

    /// The IPv4 address inside an IPv4-mapped (`::ffff:a.b.c.d`), IPv4-compatible (`::a.b.c.d`) or NAT64
    /// (`64:ff9b::a.b.c.d`) IPv6 address.
    public var embeddedIPv4: HTTPAddress? {
        guard isIPv6 else { return nil }
        let prefix = Array(bytes[0..<12])
        let mapped: [UInt8] = [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff]
        let compatible = [UInt8](repeating: 0, count: 12)
        let nat64: [UInt8] = [0, 0x64, 0xff, 0x9b, 0, 0, 0, 0, 0, 0, 0, 0]
        guard prefix == mapped || prefix == nat64 || (prefix == compatible && bytes[12...].contains { $0 != 0 })
        else { return nil }
        return HTTPAddress(bytes: Array(bytes[12..<16]))
    }

    /// Link-local (`169.254.0.0/16`, `fe80::/10`) or a cloud metadata service (`fd00:ec2::254`, Alibaba's
    /// `100.100.100.200`), in any IPv6 spelling of the IPv4 ones.
    public var isLinkLocalOrMetadata: Bool {
        if let v4 = embeddedIPv4 { return v4.isLinkLocalOrMetadata }
        if !isIPv6 {
            return (bytes[0] == 169 && bytes[1] == 254) || bytes == [100, 100, 100, 200]
        }
        if bytes[0] == 0xfe && (bytes[1] & 0xc0) == 0x80 { return true }
        let ec2: [UInt8] = [0xfd, 0x00, 0x0e, 0xc2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x02, 0x54]
        return bytes == ec2
    }

    public var description: String {
        if !isIPv6 { return bytes.map(String.init).joined(separator: ".") }
        var copy = bytes
        var buffer = [CChar](repeating: 0, count: Int(INET6_ADDRSTRLEN))
        _ = copy.withUnsafeMutableBytes { inet_ntop(AF_INET6, $0.baseAddress, &buffer, socklen_t(buffer.count)) }
        return String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// The host part of a URL that connects to this address (`[…]` around IPv6).
    var urlHost: String { isIPv6 ? "[\(description)]" : description }
}

/// Resolves host names to addresses. The executor checks every address before it connects to one of them.
public struct HTTPHostResolver: Sendable {
    /// Returns the addresses of `host` (a name, never a numeric address). Throws when the name does not resolve.
    public var resolve: @Sendable (_ host: String) async throws -> [HTTPAddress]

    public init(resolve: @escaping @Sendable (_ host: String) async throws -> [HTTPAddress]) {
        self.resolve = resolve
    }

    /// `getaddrinfo`, run on a thread of its own so that no cooperative thread blocks; a cancelled task stops
    /// waiting for it at once.
    public static let system = HTTPHostResolver { host in
        try await runBlocking {
            try systemResolve(host)
        }
    }

    struct ResolveError: Error, CustomStringConvertible {
        var description: String
    }

    static func systemResolve(_ host: String) throws -> [HTTPAddress] {
        var hints = addrinfo()
        hints.ai_family = AF_UNSPEC
        #if canImport(Darwin)
        hints.ai_socktype = SOCK_STREAM
        #else
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        #endif
        var result: UnsafeMutablePointer<addrinfo>?
        let status = getaddrinfo(host, nil, &hints, &result)
        guard status == 0, let first = result else {
            throw ResolveError(description: "cannot resolve \(host): \(String(cString: gai_strerror(status)))")
        }
        defer { freeaddrinfo(first) }
        var addresses: [HTTPAddress] = []
        var node: UnsafeMutablePointer<addrinfo>? = first
        while let info = node {
            if let sa = info.pointee.ai_addr {
                if info.pointee.ai_family == AF_INET {
                    let a = sa.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { $0.pointee.sin_addr }
                    addresses.append(HTTPAddress(bytes: withUnsafeBytes(of: a) { Array($0) }))
                } else if info.pointee.ai_family == AF_INET6 {
                    let a = sa.withMemoryRebound(to: sockaddr_in6.self, capacity: 1) { $0.pointee.sin6_addr }
                    addresses.append(HTTPAddress(bytes: withUnsafeBytes(of: a) { Array($0) }))
                }
            }
            node = info.pointee.ai_next
        }
        var seen = Set<HTTPAddress>()
        return addresses.filter { seen.insert($0).inserted }
    }
}

struct CancelledError: Error {}

/// Runs blocking work on a new thread; a cancelled caller stops waiting at once (the thread finishes on its own).
func runBlocking<T: Sendable>(_ work: @escaping @Sendable () throws -> T) async throws -> T {
    let slot = Mutex<CheckedContinuation<T, any Error>?>(nil)
    return try await withTaskCancellationHandler {
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<T, any Error>) in
            slot.withLock { $0 = continuation }
            if Task.isCancelled {
                slot.withLock { $0.take() }?.resume(throwing: CancelledError())
                return
            }
            let thread = Thread {
                let result = Result { try work() }
                slot.withLock { $0.take() }?.resume(with: result)
            }
            thread.start()
        }
    } onCancel: {
        slot.withLock { $0.take() }?.resume(throwing: CancelledError())
    }
}
