// The seeded mutation engine of the fuzz campaign (docs/reliability.md, "Fuzzing"): a small
// xorshift generator and byte-level mutations in the style of libFuzzer's (flip, set to an
// interesting value, insert, erase, duplicate, splice with another input, insert a dictionary
// token). The same seed gives the same inputs, so a count of inputs is reproducible.

/// xorshift64: deterministic from its seed.
public struct FuzzRNG {
    var s: UInt64
    public init(seed: UInt64) { s = seed == 0 ? 0x9E37_79B9_7F4A_7C15 : seed }
    public mutating func next() -> UInt64 {
        s ^= s << 13; s ^= s >> 7; s ^= s << 17
        return s
    }
    /// A value in 0..<n (0 when n <= 0).
    public mutating func int(_ n: Int) -> Int { n <= 0 ? 0 : Int(next() % UInt64(n)) }
    public mutating func pick<T>(_ xs: [T]) -> T { xs[int(xs.count)] }
}

public enum Mutator {
    /// Byte values and integers that often reach edge cases of parsers.
    static let interesting8: [UInt8] = [0, 1, 0x7F, 0x80, 0xFF, 0x0A, 0x22, 0x7B, 0x7D, 0x30, 0x39]
    static let interesting32: [UInt32] = [0, 1, 0x7F, 0x80, 0xFF, 0x100, 0xFFFF, 0x1_0000, 0x7FFF_FFFF, 0x8000_0000, 0xFFFF_FFFF, 3072, 28, 60000]

    /// One mutated copy of `input`: 1 to 6 mutations; `other` is used for splicing, `dictionary`
    /// holds tokens of the format (keywords, JSON keys, chunk names). At most `maxSize` bytes.
    public static func mutate(_ input: [UInt8], other: [UInt8], dictionary: [[UInt8]], rng g: inout FuzzRNG,
                              maxSize: Int = 1 << 16) -> [UInt8] {
        var b = input
        for _ in 0..<(1 + g.int(6)) {
            switch g.int(11) {
            case 0 where !b.isEmpty:  // flip a bit
                let i = g.int(b.count)
                b[i] ^= 1 << UInt8(g.int(8))
            case 1 where !b.isEmpty:  // an interesting byte
                b[g.int(b.count)] = g.pick(interesting8)
            case 2 where b.count >= 4:  // an interesting 32-bit integer, either byte order
                let i = g.int(b.count - 3)
                var v = g.pick(interesting32)
                if g.int(2) == 0 { v = v.byteSwapped }
                for k in 0..<4 { b[i + k] = UInt8(truncatingIfNeeded: v >> (8 * UInt32(k))) }
            case 3:  // insert random bytes
                let n = 1 + g.int(8)
                b.insert(contentsOf: (0..<n).map { _ in UInt8(truncatingIfNeeded: g.next()) }, at: g.int(b.count + 1))
            case 4 where b.count > 1:  // erase a range
                let i = g.int(b.count), n = 1 + g.int(Swift.min(64, b.count - i))
                b.removeSubrange(i..<i + n)
            case 5 where b.count > 1:  // duplicate a range somewhere
                let i = g.int(b.count), n = 1 + g.int(Swift.min(64, b.count - i))
                b.insert(contentsOf: Array(b[i..<i + n]), at: g.int(b.count + 1))
            case 6 where !other.isEmpty:  // splice: our head, the other's tail
                let cut = g.int(b.count + 1), from = g.int(other.count)
                b = Array(b[0..<cut]) + Array(other[from...])
            case 7 where !dictionary.isEmpty:  // insert a dictionary token
                b.insert(contentsOf: g.pick(dictionary), at: g.int(b.count + 1))
            case 8 where !dictionary.isEmpty && !b.isEmpty:  // overwrite with a dictionary token
                let t = g.pick(dictionary), i = g.int(b.count)
                for (k, c) in t.enumerated() where i + k < b.count { b[i + k] = c }
            case 9 where b.count > 2:  // truncate
                b.removeSubrange(g.int(b.count)...)
            case 10 where !b.isEmpty:  // increment or decrement a byte
                let i = g.int(b.count)
                b[i] = g.int(2) == 0 ? b[i] &+ 1 : b[i] &- 1
            default:
                break
            }
        }
        if b.count > maxSize { b.removeSubrange(maxSize...) }
        return b
    }
}
