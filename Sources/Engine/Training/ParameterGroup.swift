// Parameter groups: which tensors an optimizer updates and with what weight decay and lr scale.
// timm's rule (param_groups_weight_decay): no weight decay on 1-D tensors (biases, norm weights),
// on names ending in ".bias", and on the model's no-decay names (position embeddings, class
// tokens, relative position bias tables).

import Tensor

/// A set of parameters sharing weight decay and a learning-rate multiplier.
public struct ParameterGroup {
    /// The parameters (their `grad` is read at each step).
    public var parameters: [NamedTensor]
    /// Weight decay of this group (0 for biases and norm parameters).
    public var weightDecay: Double
    /// Multiplier of the scheduled learning rate (1 by default; layer decay uses it).
    public var lrScale: Double

    /// - Parameters:
    ///   - parameters: tensors updated together.
    ///   - weightDecay: decay applied to them.
    ///   - lrScale: multiplier of the scheduled learning rate.
    public init(parameters: [NamedTensor], weightDecay: Double, lrScale: Double = 1) {
        self.parameters = parameters
        self.weightDecay = weightDecay
        self.lrScale = lrScale
    }

    /// Names that timm models list in `no_weight_decay()` (matched as the last path component
    /// or, for `relative_position_bias_table`, anywhere in the name).
    public static let defaultNoDecayNames: Set<String> = [
        "pos_embed", "cls_token", "dist_token", "absolute_pos_embed", "relative_position_bias_table",
    ]

    /// True when `p` gets no weight decay under timm's rule.
    /// - Parameters:
    ///   - p: a named parameter.
    ///   - skip: extra names (last component) that get no decay.
    public static func isNoDecay(_ p: NamedTensor, skip: Set<String> = defaultNoDecayNames) -> Bool {
        if p.tensor.rank <= 1 || p.name.hasSuffix(".bias") { return true }
        let last = p.name.split(separator: ".").last.map(String.init) ?? p.name
        return skip.contains(last) || skip.contains(p.name)
    }

    /// Splits `parameters` into a decayed group and a no-decay group (empty groups are dropped),
    /// in the order timm builds them (no-decay first).
    /// - Parameters:
    ///   - parameters: the model's trainable parameters.
    ///   - weightDecay: the recipe's weight decay.
    ///   - skip: names that get no decay besides 1-D tensors and biases.
    public static func split(_ parameters: [NamedTensor], weightDecay: Double,
                             skip: Set<String> = defaultNoDecayNames) -> [ParameterGroup] {
        var decay: [NamedTensor] = [], noDecay: [NamedTensor] = []
        for p in parameters {
            if weightDecay == 0 || isNoDecay(p, skip: skip) { noDecay.append(p) } else { decay.append(p) }
        }
        var groups: [ParameterGroup] = []
        if !noDecay.isEmpty { groups.append(ParameterGroup(parameters: noDecay, weightDecay: 0)) }
        if !decay.isEmpty { groups.append(ParameterGroup(parameters: decay, weightDecay: weightDecay)) }
        return groups
    }
}
