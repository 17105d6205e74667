// Saving and loading model weights as safetensors with timm state-dict names and PyTorch layouts
// (conv weight (Cout, Cin/groups, kh, kw), linear weight (Out, In)), BatchNorm running statistics
// and num_batches_tracked (int64) included, so a timm state dict saved with safetensors loads here
// and gives the same logits.
import Foundation
import Tensor

/// Buffers timm derives from the configuration; older timm versions saved some of them. Ignored on load.
let derivedBufferSuffixes = ["relative_position_index", "attn_mask", "relative_coords_table"]

extension Network {
    /// Every tensor of the state dict with the dtype it is stored in.
    public func stateDict() -> [(name: String, tensor: Tensor, dtype: Safetensors.DType)] {
        store.params.map { ($0.name, $0.tensor, .f32) }
            + store.buffers.map { ($0.name, $0.tensor, $0.name.hasSuffix("num_batches_tracked") ? .i64 : .f32) }
    }

    /// Writes the weights to `path` (atomically); the configuration goes in the metadata as JSON.
    public func saveWeights(to path: String) throws {
        try Safetensors.write(stateDict(), metadata: ["format": "pt", "config": config.json], to: path)
    }

    /// Loads weights by name into this model (in place). Every missing, unexpected or mis-shaped
    /// tensor is named in one error, and nothing is changed unless everything fits.
    public func loadWeights(from path: String) throws {
        let (entries, _) = try Safetensors.readEntries(path)
        try loadWeights(entries.mapValues { $0.tensor }, source: path)
    }

    /// Loads a state dict given as tensors by name (see `loadWeights(from:)`).
    public func loadWeights(_ tensors: [String: Tensor], source: String) throws {
        let expected = store.params + store.buffers
        var missing: [String] = [], misShaped: [String] = []
        var known = Set<String>()
        for e in expected {
            known.insert(e.name)
            guard let t = tensors[e.name] else {
                // PyTorch itself tolerates checkpoints without num_batches_tracked
                if !e.name.hasSuffix("num_batches_tracked") { missing.append(e.name) }
                continue
            }
            if t.shape != e.tensor.shape {
                misShaped.append("\(e.name): file \(t.shape), model \(e.tensor.shape)")
            }
        }
        let unexpected = tensors.keys.filter { k in
            !known.contains(k) && !derivedBufferSuffixes.contains { k.hasSuffix($0) }
        }.sorted()
        if !missing.isEmpty || !misShaped.isEmpty || !unexpected.isEmpty {
            func list(_ title: String, _ xs: [String]) -> String? {
                guard !xs.isEmpty else { return nil }
                let shown = xs.prefix(20).map { "  " + $0 }.joined(separator: "\n")
                return "\(xs.count) \(title):\n\(shown)" + (xs.count > 20 ? "\n  ... and \(xs.count - 20) more" : "")
            }
            let parts = [list("missing", missing), list("unexpected", unexpected), list("with the wrong shape", misShaped)]
                .compactMap { $0 }
            throw EngineError.io("\(source): the weights do not fit \(config.name) (\(config.channels)x\(config.image)x\(config.image), \(config.classes) classes, dims \(config.dims)):\n"
                                 + parts.joined(separator: "\n"))
        }
        for e in expected {
            guard let t = tensors[e.name] else { continue }
            if !t.toArray().allSatisfy({ $0.isFinite }) {
                throw EngineError.numeric("\(source): tensor \(e.name) contains NaN or infinity")
            }
        }
        for e in expected {
            guard let t = tensors[e.name] else { continue }
            e.tensor.ptr.update(from: t.ptr, count: e.tensor.count)
        }
    }
}
