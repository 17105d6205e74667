// Tensor builtins through the interpreter: creation, arithmetic, methods, grad, errors, FGSM by hand.
import XCTest
import Lang
import Engine
import Tensor
@testable import Runtime

final class TensorBuiltinsTests: XCTestCase {
    /// PyTorch's layout: nested rows with aligned columns, 4 significant digits, `...` beyond
    /// the threshold (first and last 3 of each dimension), shape and dtype in the header.
    func testTensorPrintsLikePyTorch() {
        XCTAssertEqual(output("print(tensor([[0.1, -2.5], [3.14159, 10]]))"),
                       "Tensor([2, 2], float32)\n[[ 0.10, -2.50],\n [ 3.14, 10.00]]\n")
        XCTAssertEqual(output("print(tensor([1/3, 2/3]))"), "Tensor([2], float32) [0.3333, 0.6667]\n")
        XCTAssertEqual(output("print(tensor(3.5))"), "Tensor([], float32) 3.500\n")
        XCTAssertEqual(output("print(tensor([1e-6, 1]))"), "Tensor([2], float32) [1.000e-06, 1.000e+00]\n")
        XCTAssertEqual(output("print(zeros(2, 2, 2))"), "Tensor([2, 2, 2], float32)\n[[[0, 0],\n  [0, 0]],\n\n [[0, 0],\n  [0, 0]]]\n")
        let big = output("print(arange(2000))")
        XCTAssertEqual(big, "Tensor([2000], float32) [   0,    1,    2, ..., 1997, 1998, 1999]\n")
        let grid = output("print(arange(1200).reshape(40, 30))")
        XCTAssertTrue(grid.hasPrefix("Tensor([40, 30], float32)\n[[   0,    1,    2, ...,   27,   28,   29],\n [  30,"), grid)
        XCTAssertTrue(grid.contains("\n ...,\n [1110,"), grid)
        XCTAssertEqual(grid.split(separator: "\n").count, 8, grid)
        // Long rows wrap at 80 columns.
        let row = output("print(arange(100) + 0.5)")
        XCTAssertTrue(row.components(separatedBy: "\n").dropFirst().allSatisfy { $0.count <= 80 }, row)
    }

    /// print_options changes precision and threshold for this session only.
    func testPrintOptionsArePerSession() {
        XCTAssertEqual(output("print_options(precision: 2)\nprint(tensor([1/3, 2/3]))"), "Tensor([2], float32) [0.33, 0.67]\n")
        XCTAssertEqual(output("r = print_options(threshold: 4)\nprint(arange(10), r.threshold, r.precision)"),
                       "Tensor([10], float32) [0, 1, 2, ..., 7, 8, 9] 4 4\n")
        // A fresh interpreter has the defaults again.
        XCTAssertEqual(output("print(tensor([1/3]))"), "Tensor([1], float32) [0.3333]\n")
        XCTAssertTrue(errorLine("print_options(precision: 0)").contains("precision must be between 1 and 17"))
        XCTAssertTrue(errorLine("print_options(threshold: -1)").contains("threshold must be >= 0"))
        XCTAssertTrue(errorLine("print_options(digits: 3)").contains("print_options has no argument named 'digits' (arguments: precision, threshold)"))
    }

    func testCreationAndPrinting() {
        XCTAssertEqual(output("print(tensor([[1, 2, 3], [4, 5, 6]]))"), "Tensor([2, 3], float32)\n[[1, 2, 3],\n [4, 5, 6]]\n")
        XCTAssertEqual(output("print([tensor([1, 2])])"), "[Tensor([2], float32) [1, 2]]\n", "inside a list: one line")
        XCTAssertEqual(output("print(zeros(2, 3).shape, ones([4]).tolist(), arange(4).tolist(), arange(1, 2, step: 0.5).tolist())"),
                       "[2, 3] [1, 1, 1, 1] [0, 1, 2, 3] [1, 1.5]\n")
        XCTAssertEqual(output("t = randn(3, 4, 5)\nprint(t.shape, len(t), t.ndim)"), "[3, 4, 5] 3 3\n")
        XCTAssertEqual(output("print(onehot([2, 0], 3).tolist())"), "[[0, 0, 1], [1, 0, 0]]\n")
        XCTAssertEqual(output("x = rand(1000)\nprint(x.min().item() >= 0, x.max().item() < 1)"), "true true\n")
    }

    func testRemainderOperator() {
        // Python/PyTorch semantics: the result takes the divisor's sign; numbers and tensors agree.
        XCTAssertEqual(output("print((arange(7) % 3).tolist(), (tensor([-1, 5.5]) % 3).tolist(), (7 % tensor([-3, 3])).tolist(), -1 % 3)"),
                       "[0, 1, 2, 0, 1, 2, 0] [2, 2.5] [-2, 1] 2\n")
        XCTAssertEqual(output("x = tensor([5, 7])\ng = grad(fn(t) { return (t % 3).sum() }, x)\nprint(g.tolist())"), "[1, 1]\n")
        XCTAssertTrue(errorLine("print(tensor([1, 2]) % tensor([1, 0]))").contains("modulo by zero"))
    }

    func testSeedRepeats() {
        XCTAssertEqual(output("seed(3)\na = randn(4).tolist()\nseed(3)\nb = randn(4).tolist()\nseed(4)\nc = randn(4).tolist()\nprint(a == b, a == c)"),
                       "true false\n")
    }

    func testArithmeticAndMethods() {
        XCTAssertEqual(output("""
        a = tensor([[1, 2], [3, 4]])
        print((a + 1).tolist(), (2 * a).tolist(), (1 - a).tolist(), (a / 2).tolist(), (a ** 2).tolist())
        print((a @ a).tolist(), (-a).tolist(), a.T.tolist(), (a > 2).tolist(), (a == tensor([1, 4])).tolist())
        print(a.sum().item(), a.sum(0).tolist(), a.mean(dim: 1).tolist(), a.argmax(1).tolist(), a.max().item())
        print(a.reshape(4).tolist(), a.reshape(-1, 1).shape, a[1].tolist(), a[-1][0], a[0:1].shape, a.item == nil)
        """), """
        [[2, 3], [4, 5]] [[2, 4], [6, 8]] [[0, -1], [-2, -3]] [[0.5, 1], [1.5, 2]] [[1, 4], [9, 16]]
        [[7, 10], [15, 22]] [[-1, -2], [-3, -4]] [[1, 3], [2, 4]] [[0, 0], [1, 1]] [[1, 0], [0, 1]]
        10 [4, 6] [1.5, 3.5] [1, 1] 4
        [1, 2, 3, 4] [4, 1] [3, 4] 3 [1, 2] false

        """)
        XCTAssertEqual(output("""
        x = tensor([-2, -0.5, 0, 3])
        print(abs(x).tolist(), sign(x).tolist(), clamp(x, min: -1, max: 1).tolist(), maximum(x, 0).tolist(), minimum(x, 0).tolist())
        print(where(x > 0, x, 0 - x).tolist(), norm(tensor([3, 4])).item(), norm(x, p: 1).item(), norm(x, p: "inf").item())
        print(exp(tensor([0])).tolist(), log(tensor([1])).tolist(), sqrt(tensor([9])).tolist(), softmax(tensor([0, 0])).tolist())
        """), """
        [2, 0.5, 0, 3] [-1, -1, 0, 1] [-1, -0.5, 0, 1] [0, 0, 0, 3] [-2, -0.5, 0, 0]
        [2, 0.5, 0, 3] 5 5.5 3
        [1] [0] [3] [0.5, 0.5]

        """)
    }

    func testCrossEntropyAndGrad() {
        // d/dx sum(x^2) = 2x; grad leaves the argument untouched.
        XCTAssertEqual(output("x = tensor([1, -2, 3])\ng = grad(fn(z) { return (z * z).sum() }, x)\nprint(g.tolist(), x.tolist())"),
                       "[2, -4, 6] [1, -2, 3]\n")
        let out = output("""
        logits = tensor([[0, 0], [0, 0]])
        print(cross_entropy(logits, [0, 1]).item() == log(tensor([2])).item())
        print(cross_entropy(logits, tensor([0, 1]), reduction: "none").shape)
        g = grad(fn(z) { return cross_entropy(z, [0, 1]) }, logits)
        print(g.tolist())
        print(no_grad(fn() { return 41 + 1 }))
        """)
        XCTAssertEqual(out, "true\n[2]\n[[-0.25, 0.25], [0.25, -0.25]]\n42\n")
    }

    func testFGSMByHand() {
        // A linear classifier; one FGSM step must raise the loss and stay within eps of x in [0, 1].
        let out = output("""
        seed(1)
        w = randn(3, 8)
        fn model(z) { return z @ w.T }
        x = rand(4, 8)
        y = [0, 1, 2, 1]
        eps = 0.1
        loss = fn(z) { return cross_entropy(model(z), y) }
        adv = clamp(x + eps * sign(grad(loss, x)), min: 0, max: 1)
        print(loss(adv).item() > loss(x).item(), abs(adv - x).max().item() <= eps + 1e-6, adv.min().item() >= 0)
        """)
        XCTAssertEqual(out, "true true true\n")
    }

    func testErrorsNameShapes() {
        XCTAssertTrue(errorLine("tensor([[1, 2], [3, 4]]) + tensor([1, 2, 3])").contains("[2, 2]"))
        XCTAssertTrue(errorLine("tensor([[1, 2], [3, 4]]) + tensor([1, 2, 3])").contains("[3]"))
        XCTAssertTrue(errorLine("ones(2, 3) @ ones(2, 3)").contains("[2, 3]"))
        XCTAssertTrue(errorLine("tensor([[1, 2], [3]])").contains("ragged"))
        XCTAssertTrue(errorLine("ones(2)[5]").contains("out of range"))
        XCTAssertTrue(errorLine("cross_entropy(ones(2, 3), [0, 7])").contains("out of range"))
        XCTAssertTrue(errorLine("grad(fn(z) { return z * 2 }, ones(3))").contains("one-element"))
        XCTAssertTrue(errorLine("zeros(2, -1)").contains("negative"))
    }

    func testTensorAgainstNonNumbers() {
        XCTAssertEqual(output("t = ones(2)\nprint(t == nil, t != nil)"), "false true\n")
        XCTAssertFalse(errorLine("ones(2) + \"a\"").isEmpty)
    }

    func testThreads() {
        // threads(n) sets the backend's thread count; Backend.with restores it afterwards.
        Backend.with({ _ in }) {
            XCTAssertEqual(output("print(threads(1), threads())"), "1 1\n")
        }
    }
}
