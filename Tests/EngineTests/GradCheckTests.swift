// Gradient checks for every differentiable op.
import XCTest
@testable import Engine
@testable import Tensor

final class GradCheckTests: XCTestCase {
    func testElementwiseBroadcast() {
        let a = rnd([2, 3, 4], seed: 1), b = rnd([3, 1], seed: 2, offset: 2)
        gradCheck("add", [a, b]) { try $0[0].add($0[1]) }
        gradCheck("sub", [a, b]) { try $0[0].sub($0[1]) }
        gradCheck("mul", [a, b]) { try $0[0].mul($0[1]) }
        gradCheck("div", [a, b]) { try $0[0].div($0[1]) }
        gradCheck("div by broadcast a", [b, a]) { try $0[0].div($0[1].add(scalar: 3)) }
        // a / b in (1.5, 1.85): away from the jumps of floor at whole numbers, d/db = -1.
        let ra = Tensor.uniform([2, 3, 4], low: 4.2, high: 4.8, rng: RNG(seed: 40))
        let rb = Tensor.uniform([3, 1], low: 2.6, high: 2.8, rng: RNG(seed: 41))
        ra.requiresGrad = true; rb.requiresGrad = true
        gradCheck("remainder", [ra, rb]) { try $0[0].remainder($0[1]) }
        let c = rnd([2, 3, 4], seed: 3)
        gradCheck("maximum", [a, c]) { try $0[0].maximum($0[1]) }
        gradCheck("minimum", [a, c]) { try $0[0].minimum($0[1]) }
        let cond = try! Tensor.rand([3, 4], rng: RNG(seed: 4)).sub(Tensor(scalar: 0.5))
        gradCheck("where", [a, c]) { try Tensor.where(cond.relu(), $0[0], $0[1]) }
        gradCheck("scalar ops", [a]) { $0[0].add(scalar: 2).mul(scalar: -3).neg() }
        let pos = rnd([2, 5], seed: 5, offset: 2)
        gradCheck("pow 2", [a]) { $0[0].pow(2) }
        gradCheck("pow 1.5", [pos]) { $0[0].pow(1.5) }
        gradCheck("exp", [a]) { $0[0].exp() }
        gradCheck("log", [pos]) { $0[0].log() }
        gradCheck("sqrt", [pos]) { $0[0].sqrt() }
        gradCheck("abs", [a]) { $0[0].abs() }
        gradCheck("clamp", [a]) { $0[0].clamp(min: -0.5, max: 0.5) }
        gradCheck("relu", [a]) { $0[0].relu() }
        gradCheck("gelu", [a]) { $0[0].mul(scalar: 3).gelu() }
    }

    func testTensorUsedTwice() {
        let a = rnd([3, 4], seed: 6)
        gradCheck("x*x + x", [a]) { x in try x[0].mul(x[0]).add(x[0]) }
        gradCheck("diamond", [a]) { x in
            let y = x[0].exp()
            return try y.mul(y.sum(axes: [1], keepDims: true))
        }
    }

    func testReductions() {
        let a = rnd([2, 3, 4], seed: 7)
        gradCheck("sum all", [a]) { $0[0].sum() }
        gradCheck("mean all", [a]) { $0[0].mean() }
        gradCheck("sum axes", [a]) { try $0[0].sum(axes: [0, 2]) }
        gradCheck("mean keep", [a]) { try $0[0].mean(axes: [-1], keepDims: true) }
        gradCheck("variance", [a]) { try $0[0].variance(axes: [1, 2]) }
        gradCheck("variance unbiased", [a]) { try $0[0].variance(axes: [0], keepDims: true, unbiased: true) }
        gradCheck("max", [a]) { try $0[0].max(axis: 1) }
        gradCheck("max keep", [a]) { try $0[0].max(axis: -1, keepDims: true) }
    }

    func testShapeOps() {
        let a = rnd([2, 3, 4], seed: 8)
        gradCheck("reshape", [a]) { try $0[0].reshape([6, -1]).mul(scalar: 2) }
        gradCheck("permute", [a]) { try $0[0].permute([2, 0, 1]) }
        gradCheck("transpose", [a]) { try $0[0].transpose(0, 2) }
        gradCheck("slice", [a]) { try $0[0].slice(axis: 2, start: 1, end: 3) }
        let b = rnd([2, 2, 4], seed: 9)
        gradCheck("concat", [a, b]) { try Tensor.concat([$0[0], $0[1]], axis: 1) }
        gradCheck("split", [a]) { x in
            let p = try x[0].split(sizes: [1, 2], axis: 1)
            return try Tensor.concat([p[1], p[0].mul(scalar: 3)], axis: 1)
        }
        gradCheck("pad", [a]) { try $0[0].pad([(0, 0), (1, 2), (2, 1)], value: 0.5) }
        gradCheck("roll", [a]) { try $0[0].roll(shifts: [1, -3], axes: [1, 2]) }
        gradCheck("roll 2d windows", [a]) { try $0[0].roll(shifts: [5], axes: [0]) }
        gradCheck("flip", [a]) { try $0[0].flip(axis: 2) }
        let l = rnd([4, 5], seed: 10)
        gradCheck("gather", [l]) { try $0[0].gather(labels: [0, 4, 2, 2]) }
        let s = rnd([3, 1], seed: 11)
        gradCheck("expand", [s]) { try $0[0].expand(to: [2, 3, 4]) }
    }

    func testMatmulLinear() {
        let a = rnd([3, 4], seed: 12), b = rnd([4, 5], seed: 13)
        gradCheck("matmul 2d", [a, b]) { try Tensor.matmul($0[0], $0[1]) }
        let a3 = rnd([2, 3, 4], seed: 14)
        gradCheck("matmul batch x 2d", [a3, b]) { try Tensor.matmul($0[0], $0[1]) }
        let b3 = rnd([1, 4, 5], seed: 15)
        gradCheck("matmul broadcast batch", [a3, b3]) { try Tensor.matmul($0[0], $0[1]) }
        let b4 = rnd([2, 4, 2], seed: 16)
        gradCheck("matmul batched", [a3, b4]) { try Tensor.matmul($0[0], $0[1]) }
        let w = rnd([5, 4], seed: 17), bias = rnd([5], seed: 18)
        gradCheck("linear", [a3, w, bias]) { try Tensor.linear($0[0], weight: $0[1], bias: $0[2]) }
        gradCheck("linear no bias", [a, w]) { try Tensor.linear($0[0], weight: $0[1], bias: nil) }
    }

    func testConv() {
        let x = rnd([2, 4, 6, 6], seed: 20)
        let w3 = rnd([3, 4, 3, 3], seed: 21), b3 = rnd([3], seed: 22)
        gradCheck("conv 3x3 pad 1", [x, w3, b3]) { try Tensor.conv2d($0[0], weight: $0[1], bias: $0[2], stride: (1, 1), padding: (1, 1), groups: 1) }
        gradCheck("conv 3x3 stride 2 pad 1", [x, w3, b3]) { try Tensor.conv2d($0[0], weight: $0[1], bias: $0[2], stride: (2, 2), padding: (1, 1), groups: 1) }
        let w1 = rnd([5, 4, 1, 1], seed: 23)
        gradCheck("conv 1x1", [x, w1]) { try Tensor.conv2d($0[0], weight: $0[1], bias: nil, stride: (1, 1), padding: (0, 0), groups: 1) }
        let x1 = rnd([1, 4, 5, 5], seed: 32)
        gradCheck("conv 1x1 single image (direct path)", [x1, w1]) { try Tensor.conv2d($0[0], weight: $0[1], bias: nil, stride: (1, 1), padding: (0, 0), groups: 1) }
        gradCheck("conv 3x3 single image (direct path)", [x1, w3, b3]) { try Tensor.conv2d($0[0], weight: $0[1], bias: $0[2], stride: (1, 1), padding: (1, 1), groups: 1) }
        let x3 = rnd([3, 4, 5, 5], seed: 33)
        gradCheck("conv grouped odd batch", [x3, rnd([6, 2, 3, 3], seed: 34)]) { try Tensor.conv2d($0[0], weight: $0[1], bias: nil, stride: (2, 2), padding: (1, 1), groups: 2) }
        let wg = rnd([6, 2, 3, 3], seed: 24)
        gradCheck("conv grouped", [x, wg]) { try Tensor.conv2d($0[0], weight: $0[1], bias: nil, stride: (1, 1), padding: (1, 1), groups: 2) }
        let wd = rnd([4, 1, 3, 3], seed: 25), bd = rnd([4], seed: 26)
        gradCheck("conv depthwise", [x, wd, bd]) { try Tensor.conv2d($0[0], weight: $0[1], bias: $0[2], stride: (1, 1), padding: (1, 1), groups: 4) }
        gradCheck("conv depthwise stride 2", [x, wd]) { try Tensor.conv2d($0[0], weight: $0[1], bias: nil, stride: (2, 2), padding: (1, 1), groups: 4) }
        let wd7 = rnd([4, 1, 7, 7], seed: 27)
        let x7 = rnd([1, 4, 8, 8], seed: 28)
        gradCheck("conv depthwise 7x7", [x7, wd7]) { try Tensor.conv2d($0[0], weight: $0[1], bias: nil, stride: (1, 1), padding: (3, 3), groups: 4) }
        // A 9 x 18 map: the AVX-512 7x7 kernel's overlapping last row tile and a masked second vector.
        let x9 = rnd([2, 2, 9, 18], seed: 35), wd9 = rnd([2, 1, 7, 7], seed: 36), bd9 = rnd([2], seed: 37)
        gradCheck("conv depthwise 7x7 9x18", [x9, wd9, bd9]) { try Tensor.conv2d($0[0], weight: $0[1], bias: $0[2], stride: (1, 1), padding: (3, 3), groups: 2) }
        // A 4x4 map: one vector per plane, taps gathered by lane permutations.
        let x4 = rnd([2, 2, 4, 4], seed: 38)
        gradCheck("conv depthwise 7x7 4x4 map", [x4, wd9, bd9]) { try Tensor.conv2d($0[0], weight: $0[1], bias: $0[2], stride: (1, 1), padding: (3, 3), groups: 2) }
        Backend.with({ $0.dw7 = false }) {
            gradCheck("conv depthwise 7x7 portable kernel", [x7, wd7]) { try Tensor.conv2d($0[0], weight: $0[1], bias: nil, stride: (1, 1), padding: (3, 3), groups: 4) }
        }
        let wm = rnd([8, 1, 3, 3], seed: 29)
        gradCheck("conv depth multiplier 2", [x, wm]) { try Tensor.conv2d($0[0], weight: $0[1], bias: nil, stride: (1, 1), padding: (0, 0), groups: 4) }
        let ws = rnd([3, 4, 2, 2], seed: 30)
        gradCheck("conv 2x2 stride 2 patchify", [x, ws]) { try Tensor.conv2d($0[0], weight: $0[1], bias: nil, stride: (2, 2), padding: (0, 0), groups: 1) }
        let wr = rnd([3, 4, 3, 2], seed: 31)
        gradCheck("conv rectangular asym stride", [x, wr]) { try Tensor.conv2d($0[0], weight: $0[1], bias: nil, stride: (2, 1), padding: (1, 0), groups: 1) }
    }

    func testPooling() {
        let x = rnd([2, 3, 5, 5], seed: 40)
        gradCheck("avg pool include pad", [x]) { try $0[0].avgPool2d(kernel: 3, stride: 2, padding: 1, countIncludePad: true) }
        gradCheck("avg pool exclude pad", [x]) { try $0[0].avgPool2d(kernel: 3, stride: 2, padding: 1, countIncludePad: false) }
        gradCheck("avg pool 2", [x]) { try $0[0].avgPool2d(kernel: 2) }
        gradCheck("max pool", [x]) { try $0[0].maxPool2d(kernel: 3, stride: 2, padding: 1) }
        gradCheck("global avg pool", [x]) { try $0[0].globalAvgPool() }
    }

    func testNorms() {
        let x = rnd([2, 3, 6], seed: 50, offset: 0.3)
        let w = rnd([6], seed: 51, offset: 1), b = rnd([6], seed: 52)
        gradCheck("layer norm", [x, w, b], rtol: 5e-2) { try Tensor.layerNorm($0[0], weight: $0[1], bias: $0[2], eps: 1e-5) }
        gradCheck("layer norm no affine", [x]) { try Tensor.layerNorm($0[0], weight: nil, bias: nil, eps: 1e-5) }
        let x4 = rnd([2, 4, 3, 3], seed: 53, offset: 0.2)
        let wc = rnd([4], seed: 54, offset: 1), bc = rnd([4], seed: 55)
        gradCheck("layer norm 2d", [x4, wc, bc], rtol: 5e-2) { try Tensor.layerNorm2d($0[0], weight: $0[1], bias: $0[2], eps: 1e-6) }
        gradCheck("group norm", [x4, wc, bc], rtol: 5e-2) { try Tensor.groupNorm($0[0], groups: 2, weight: $0[1], bias: $0[2], eps: 1e-5) }
        gradCheck("group norm 1 group, weight only", [x4, wc], rtol: 5e-2) { try Tensor.groupNorm($0[0], groups: 1, weight: $0[1], bias: nil, eps: 1e-5) }
        gradCheck("group norm bias only", [x4, bc], rtol: 5e-2) { try Tensor.groupNorm($0[0], groups: 4, weight: nil, bias: $0[1], eps: 1e-5) }
        let x2 = rnd([5, 3], seed: 58, offset: 0.5)
        gradCheck("batch norm (N, C)", [x2, rnd([3], seed: 59, offset: 1)], rtol: 5e-2) {
            try Tensor.batchNorm($0[0], weight: $0[1], bias: nil, runningMean: nil, runningVar: nil, training: true, momentum: 0.1, eps: 1e-5)
        }
        gradCheck("batch norm train", [x4, wc, bc], rtol: 5e-2) {
            try Tensor.batchNorm($0[0], weight: $0[1], bias: $0[2], runningMean: nil, runningVar: nil, training: true, momentum: 0.1, eps: 1e-5)
        }
        let rm = rnd([4], seed: 56, requiresGrad: false), rv = rnd([4], seed: 57, offset: 2, requiresGrad: false)
        gradCheck("batch norm eval", [x4, wc, bc]) {
            try Tensor.batchNorm($0[0], weight: $0[1], bias: $0[2], runningMean: rm, runningVar: rv, training: false, momentum: 0.1, eps: 1e-5)
        }
    }

    func testSoftmaxAttentionLoss() {
        let x = rnd([2, 3, 4], seed: 60)
        gradCheck("softmax last", [x]) { try $0[0].mul(scalar: 3).softmax(axis: -1) }
        gradCheck("softmax middle", [x]) { try $0[0].softmax(axis: 1) }
        gradCheck("log softmax", [x]) { try $0[0].mul(scalar: 3).logSoftmax(axis: 1) }
        let q = rnd([2, 2, 3, 4], seed: 61), k = rnd([2, 2, 5, 4], seed: 62), v = rnd([2, 2, 5, 3], seed: 63)
        gradCheck("attention", [q, k, v]) { try Tensor.attention(q: $0[0], k: $0[1], v: $0[2], bias: nil, scale: 0.5) }
        let bias = rnd([2, 3, 5], seed: 64)
        gradCheck("attention bias", [q, k, v, bias]) { try Tensor.attention(q: $0[0], k: $0[1], v: $0[2], bias: $0[3], scale: 0.5) }
        // One row of S for every (batch, head, query): added in the product's epilogue with row stride 0.
        let rowBias = rnd([5], seed: 67)
        gradCheck("attention bias row", [q, k, v, rowBias]) { try Tensor.attention(q: $0[0], k: $0[1], v: $0[2], bias: $0[3], scale: 0.5) }
        // One value per query, broadcast along S: spread into the scores before the product.
        let colBias = rnd([3, 1], seed: 68)
        gradCheck("attention bias column", [q, k, v, colBias]) { try Tensor.attention(q: $0[0], k: $0[1], v: $0[2], bias: $0[3], scale: 0.5) }
        let mask = Tensor(zeros: [2, 1, 3, 5])
        for i in 0..<mask.count where i % 3 == 1 { mask.ptr[i] = -1e9 }
        gradCheck("attention mask", [q, k, v]) { try Tensor.attention(q: $0[0], k: $0[1], v: $0[2], bias: mask, scale: 0.5) }
        let logits = rnd([4, 5], seed: 65)
        gradCheck("cross entropy", [logits]) { try Tensor.crossEntropy($0[0].mul(scalar: 2), labels: [1, 0, 4, 2]) }
        gradCheck("cross entropy smoothing", [logits]) { try Tensor.crossEntropy($0[0], labels: [1, 0, 4, 2], labelSmoothing: 0.1) }
        let t = try! Tensor.rand([4, 5], rng: RNG(seed: 66)).softmax(axis: 1)
        gradCheck("cross entropy soft", [logits]) { try Tensor.crossEntropy($0[0], targets: t) }
        gradCheck("cross entropy per example", [logits]) { try Tensor.crossEntropyPerExample($0[0], labels: [3, 3, 0, 1]) }
    }

    func testDropout() {
        let x = rnd([4, 6], seed: 70)
        gradCheck("dropout", [x]) { try $0[0].dropout(p: 0.3, rng: RNG(seed: 5), training: true) }
        gradCheck("drop path", [x]) { try $0[0].dropPath(p: 0.5, rng: RNG(seed: 5), training: true) }
    }
}
