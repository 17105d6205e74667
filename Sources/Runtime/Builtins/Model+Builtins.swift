// Builtins: the five architectures (`model`), params, flops, save, load_weights.
import Engine
import Tensor

enum ModelBuiltins {
    /// The Model argument of a builtin, or a clear error.
    static func modelArg(_ args: Arguments, _ name: String = "m", at: Int = 0) throws -> ModelObject {
        try args.object(name, at: at, as: ModelObject.self, expected: "a model (from model(...))")
    }

    static func network(_ args: Arguments) throws -> Network {
        guard let n = try modelArg(args).model as? Network else {
            throw RuntimeError.type("\(args.callee): only models built by model() are supported")
        }
        return n
    }

    static func ints(_ args: Arguments, _ name: String) throws -> [Int]? {
        guard args.has(name) else { return nil }
        return try args.numbers(name).map { d in
            guard d == d.rounded(), abs(d) < 1e9 else {
                throw RuntimeError.type("\(args.callee): \(name) must be whole numbers, got \(d)")
            }
            return Int(d)
        }
    }

    static func register(into t: inout BuiltinTable) {
        t.add("model", "model(name, image: 224, channels: 3, classes: 1000, patch: nil, window: nil, depths: nil, dims: nil, width: 1, heads: nil, drop_path: 0, mean: nil, std: nil, act: \"gelu\", stem: nil, params: nil, parity: false, num_classes: nil, in_chans: nil, img_size: nil, drop_path_rate: nil, pretrained: false)",
              doc: """
                  Builds one of the five architectures as timm 1.0.x defines them, with fresh weights from
                  the global seed.

                  convnext_atto/femto/pico/nano/tiny/small/base, swin_tiny/small/base,
                  poolformer_s12/s24/s36/m36, deit_tiny/small/base, resnet18/26/34/50/101 (GELU by default;
                  act: "relu" for the original) and resnet50_gelu. Options: image (input side, alias size as for the data sets; Swin windows
                  and DeiT position embeddings adapt), channels, classes, patch (ConvNeXt/Swin/DeiT), window
                  (Swin), depths and dims per stage (DeiT: one of each), width (multiplies the widths),
                  heads (Swin/DeiT), drop_path (max stochastic-depth rate), mean/std (normalisation applied
                  inside the model; ImageNet values for 3 channels, 0.5/0.5 otherwise), act and stem
                  (ResNet), params (scale the widths so the parameter count lands within 3% of it), parity
                  (true: the study's token grids at small images, DeiT patch 4 and Swin window 4 at 32x32,
                  docs/models.md; a model that sees fewer than 4x4 tokens after its stem gets one warning).
                  The model takes images in [0, 1]: `m(x)` gives logits. Models start in evaluation mode.

                  timm spellings work: full names such as "swin_tiny_patch4_window7_224" or
                  "deit_small_patch16_224" (their patch, window and size become defaults), pretrained tags
                  such as "convnext_tiny.fb_in1k" (accepted and ignored, with a note on stderr: nothing is
                  downloaded; load_weights reads timm safetensors), and create_model's keywords num_classes,
                  in_chans, img_size, drop_path_rate (aliases of classes, channels, image, drop_path) and
                  pretrained: false.
                  """) { args, _ in
            var a = args
            let name = try timmNormalise(&a) { Evaluation.log($0) }
            var o = ModelOptions()
            func optInt(_ k: String) throws -> Int? { a.has(k) ? try a.int(k) : nil }
            o.image = try optInt("image")
            o.channels = try optInt("channels")
            o.classes = try optInt("classes")
            o.patch = try optInt("patch")
            o.window = try optInt("window")
            o.stem = try optInt("stem")
            o.depths = try ints(a, "depths")
            o.dims = try ints(a, "dims")
            o.heads = try ints(a, "heads")
            if a.has("width") { o.width = try a.number("width") }
            if a.has("drop_path") { o.dropPath = try a.number("drop_path") }
            if a.has("params") { o.params = try a.number("params") }
            if a.has("mean") { o.mean = try a.numbers("mean").map { Float($0) } }
            if a.has("std") { o.std = try a.numbers("std").map { Float($0) } }
            o.parity = try a.bool("parity", default: false)
            if a.has("act") { o.act = try a.choice("act", ["gelu", "relu"], default: "gelu") }
            let net = try engine { try Models.make(name, o) }
            return .object(ModelObject(net))
        }

        t.add("models", "models()",
              doc: "The list of model names `model()` accepts.") { a, _ in
            return .list(ListBox(ModelConfig.familyNames.map { .string($0) }))
        }

        t.add("params", "params(m)",
              doc: """
                  The number of trainable parameters of model `m` (what timm reports; BatchNorm running
                  statistics are buffers, not parameters).
                  """) { a, _ in
            return .number(Double(try modelArg(a).model.parameterCount))
        }

        t.add("flops", "flops(m)",
              doc: """
                  Multiply-adds of one forward pass of model `m` for ONE image at its built size:
                  convolutions, linear layers and the two attention products (normalisation, activations and
                  pooling are not counted, as in fvcore/timm's profiles).
                  """) { a, _ in
            let n = try network(a)
            return .number(Double(try engine { try n.macs() }))
        }

        t.add("save", "save(m, path)",
              doc: """
                  Writes the weights of model `m` to `path` as safetensors with timm's state-dict names and
                  PyTorch layouts (BatchNorm running statistics and num_batches_tracked included); the model
                  configuration is stored in the metadata.

                  The file is written atomically.
                  """) { a, _ in
            let n = try network(a)
            let path = try a.string("path", at: 1)
            try engine { try n.saveWeights(to: path) }
            return .nil_
        }

        t.add("load_weights", "load_weights(m, path)",
              doc: """
                  Loads safetensors weights with timm's state-dict names (e.g. a timm state dict saved with
                  safetensors.torch.save_file) into model `m`, in place.

                  Every missing, unexpected or mis-shaped tensor is named in the error, and the model is
                  unchanged unless everything fits. Returns `m`.
                  """) { a, _ in
            let mo = try modelArg(a)
            let n = try network(a)
            let path = try a.string("path", at: 1)
            try engine { try n.loadWeights(from: path) }
            return .object(mo)
        }
    }
}
