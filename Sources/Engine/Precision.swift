// Precision of the inputs of matrix products and convolutions (accumulation is always fp32).

/// fp32: exact; bf16: inputs rounded to bfloat16 (round to nearest even); fp16: inputs rounded
/// to IEEE half (overflow to inf, as real fp16 does).
public enum Precision: String, CaseIterable {
    case fp32, bf16, fp16

    /// The precision ops use when the caller does not say (models set it around forward).
    public nonisolated(unsafe) static var current: Precision = .fp32
}
