// The data builtins from scripts: data sets, indexing, subsets, batches, pipeline, randaugment, mixup,
// help docs and argument errors.
import Foundation
import Lang
import XCTest
@testable import Runtime

/// Runs code in a fresh interpreter; returns its output and the error text (nil when none).
func runData(_ code: String) -> (out: String, err: String?) {
    var out = ""
    let interp = Interpreter(output: { out += $0 })
    do {
        try interp.run(SourceFile(name: "t.adv", text: code))
        return (out, nil)
    } catch let e as ScriptError {
        return (out, e.render())
    } catch {
        return (out, "\(error)")
    }
}

final class BuiltinTests: XCTestCase {
    func ok(_ code: String, file: StaticString = #filePath, line: UInt = #line) -> String {
        let (out, err) = runData(code)
        XCTAssertNil(err, "unexpected error: \(err ?? "")", file: file, line: line)
        return out
    }

    func fails(_ code: String, _ parts: [String], file: StaticString = #filePath, line: UInt = #line) {
        let (_, err) = runData(code)
        guard let e = err else { return XCTFail("expected an error from \(code)", file: file, line: line) }
        for p in parts where !e.contains(p) { XCTFail("error '\(e)' does not mention '\(p)'", file: file, line: line) }
    }

    func testEveryDataBuiltinHasDocAndSignature() {
        let t = Registry.standard()
        for name in ["fashion_mnist", "mnist", "cifar10", "cifar100", "image_folder", "npy", "synthetic", "randaugment", "mixup", "pipeline", "augment", "soft_targets"] {
            let b = t.byName[name]
            XCTAssertNotNil(b, name)
            XCTAssertGreaterThan(b?.doc.count ?? 0, 80, name)
            XCTAssertTrue(b?.signature.hasPrefix(name + "(") ?? false, name)
        }
    }

    func testSyntheticDatasetFromScripts() {
        let out = ok("""
        d = synthetic(n: 40, classes: 4, image: 8, channels: 1, seed: 2)
        print(len(d.train), len(d.test), d.classes, d.train.classes, d.train.shape)
        s = d.train[3]
        print(s[0].shape, s[1] >= 0, s[1] < 4)
        print(len(d.train.subset(10)), len(d.train[5:15]))
        parts = d.train.split(0.75, seed: 1)
        print(len(parts[0]), len(parts[1]))
        n = 0
        for b in d.train.batches(batch: 16, shuffle: false) { n = n + len(b.labels) }
        print(n)
        """)
        XCTAssertEqual(out, "40 8 4 4 [1, 8, 8]\n[1, 8, 8] true true\n10 10\n30 10\n40\n")
    }

    func testReadersFromScripts() throws {
        let mn = try Fixture.path("files/mnist"), c10 = try Fixture.path("files/cifar10")
        let folder = try Fixture.path("files/folder"), npy = try Fixture.path("files/npy")
        let out = ok("""
        m = mnist("\(mn)", image: 6, resize: "pad")
        print(len(m.train), m.train.shape)
        c = cifar10("\(c10)")
        print(len(c.train), c.train.class_names[0])
        f = image_folder("\(folder)", size: 8)
        print(len(f), f.class_names, f[2][0].shape)
        print(image_folder("\(folder)", image: 8)[2][0].shape == f[2][0].shape, mnist("\(mn)", size: 6, resize: "pad").train.shape)
        x = npy("\(npy)/x_nhwc_u8.npy", "\(npy)/y_i64.npy")
        print(len(x), x.classes, x.shape)
        """)
        XCTAssertEqual(out, "5 [1, 6, 6]\n10 airplane\n3 [\"cat\", \"dog\"] [3, 8, 8]\ntrue [1, 6, 6]\n4 3 [3, 5, 6]\n")
    }

    func testPipelineFromScripts() {
        let out = ok("""
        d = synthetic(n: 64, classes: 4, image: 12, seed: 1)
        p = pipeline(d, batch: 8, seed: 3, size: 10, crop: "random_resized", flip: true, randaugment: "rand-m9-mstd0.5-inc1", mixup: mixup(alpha: 0.8, cutmix: 1.0, smoothing: 0.1))
        print(p.batches_per_epoch)
        k = 0
        for b in p.batches(1) { k = k + 1
          if k == 1 { print(b.images.shape, b.targets.shape, len(b.labels)) } }
        print(k)
        a = p.batches(2)[3]
        b2 = p.batches(2)[3]
        print((a.images - b2.images).abs().sum().item())
        late = p.batches(2, from: 3)
        print(len(late), (late[0].images - a.images).abs().sum().item())
        p.set(magnitude: 2, mix_prob: 0.5)
        print(p)
        """)
        XCTAssertEqual(out, """
        8
        [8, 3, 10, 10] [8, 4] 8
        8
        0
        5 0
        Pipeline(64 images, batch 8, size 10, random resized crop, flip, randaugment m2 mstd0.5, mixup 0.8 cutmix 1 prob 0.5 switch 0.5, smoothing 0.1)

        """)
    }

    func testAugmentObjectsAreCallable() {
        let out = ok("""
        ra = randaugment(m: 9)
        print(ra)
        x = rand(2, 3, 6, 6)
        y = ra(x, seed: 4)
        z = ra(x, seed: 4)
        print(y.shape, (y - z).abs().sum().item())
        mx = mixup(alpha: 0.8)
        r = mx(x, [0, 1], classes: 3, seed: 1)
        print(r.images.shape, r.targets.shape, r.lambda > 0, r.lambda < 1)
        a1 = augment(x, size: 4, crop: "random_resized", flip: true, randaugment: 9, seed: 2)
        a2 = augment(x[0], size: 4, crop: "random_resized", flip: true, randaugment: 9, seed: 2)
        print(a1.shape, a2.shape, (a1[0] - a2).abs().sum().item())
        st = soft_targets([1, 0], classes: 4, smoothing: 0.2)
        print(st.shape, (st.sum() - 2).abs().item() < 1e-6, abs(st[0][1] - 0.85) < 1e-6, abs(st[1][2] - 0.05) < 1e-6)
        """)
        XCTAssertEqual(out, "RandAugment(rand-m9-n2-mstd0.5-inc1, p 0.5)\n[2, 3, 6, 6] 0\n[2, 3, 6, 6] [2, 3] true true\n[2, 3, 4, 4] [3, 4, 4] 0\n[2, 4] true true true\n")
    }

    /// `image:` names the image side for models as for data sets; `size:` is its silent alias.
    func testImageSizeAliasForModels() {
        XCTAssertEqual(ok("print(model(\"resnet18\", size: 16, channels: 1, classes: 3).image, model(\"resnet18\", image: 16, channels: 1, classes: 3).image)"), "16 16\n")
    }

    func testArgumentErrors() {
        fails("fashion_mnist(root: \"/nonexistent/fm\")", ["/nonexistent/fm/train-images-idx3-ubyte.gz", "no such file"])
        fails("fashion_mnist(sise: 32)", ["no argument named 'sise'", "size"])
        fails("fashion_mnist(resize: \"nearest\")", ["bilinear", "pad"])
        // One name for the image side: image:, with size: as a silent alias; not both.
        fails("fashion_mnist(image: 32, size: 32)", ["fashion_mnist: give 'image' or its alias 'size', not both"])
        fails("d = synthetic(n: 10)\npipeline(d, batch: 2, image: 0)", ["image must be between 1 and 4096"])
        fails("model(\"resnet18\", image: 32, size: 32)", ["model: give 'image' or its alias 'size', not both"])
        fails("synthetic(n: 10, channels: 2)", ["channels must be 1 or 3"])
        fails("d = synthetic(n: 10)\nd.train[10]", ["out of range"])
        fails("d = synthetic(n: 10)\npipeline(d, batch: 3, mixup: mixup())", ["even batch size"])
        fails("d = synthetic(n: 10)\npipeline(d, batch: 20)", ["fewer than one batch"])
        fails("d = synthetic(n: 10)\npipeline(d, batch: 2, randaugment: \"rand-m9-mstd0.5\")", ["inc1"])
        fails("d = synthetic(n: 10)\npipeline(d, batch: 2, crop: \"center\")", ["random_resized"])
        fails("mixup(alpha: 0)", ["must be positive"])
        fails("augment(zeros(2, 2))", ["(C, H, W)"])
        fails("soft_targets([1], classes: 0)", ["classes must be >= 1"])
        fails("randaugment(m: -1)", ["magnitude"])
        fails("image_folder(\"/nonexistent/x\")", ["not a folder"])
        fails("d = synthetic(n: 10)\np = pipeline(d, batch: 2)\np.set(erasing: 2)", ["erasing"])
    }
}
