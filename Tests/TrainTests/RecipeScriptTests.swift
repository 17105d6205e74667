// recipe(...), Recipe members, printing, and stdlib/recipes.adv: the study's table encoded
// exactly, and study() scaling.
import XCTest
import Lang
import Engine
import Tensor
@testable import Runtime

final class RecipeScriptTests: XCTestCase {
    /// The repository's stdlib folder (found from this file's path).
    static let stdlib = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("stdlib").path

    func run(_ code: String) -> (out: String, err: String?) {
        var out = ""
        let interp = Interpreter(output: { out += $0 })
        interp.searchPaths = [RecipeScriptTests.stdlib]
        do {
            try interp.run(SourceFile(name: "t.adv", text: code))
            return (out, nil)
        } catch let e as ScriptError {
            return (out, e.render())
        } catch {
            return (out, "\(error)")
        }
    }

    func out(_ code: String, file: StaticString = #filePath, line: UInt = #line) -> String {
        let (o, e) = run(code)
        XCTAssertNil(e, "unexpected error: \(e ?? "")", file: file, line: line)
        return o
    }

    func err(_ code: String, file: StaticString = #filePath, line: UInt = #line) -> String {
        let (_, e) = run(code)
        XCTAssertNotNil(e, "expected an error", file: file, line: line)
        return e ?? ""
    }

    func testRecipeOptionsAndMembers() {
        XCTAssertEqual(out("""
        r = recipe(epochs: 3, batch: 64, workers: 2, accumulation: 4, lr: 1e-3, optimizer: "sgd", grad_clip: 1.5, ema: false)
        print(r.epochs, r.batch, r.global_batch, r.scaled_lr, r.optimizer, r.grad_clip, r.ema)
        s = r.with(batch: 128)
        print(s.batch, r.batch, s.global_batch)
        """), "3 64 512 0.0005 sgd 1.5 false\n128 64 1024\n")
    }

    func testRecipeErrorsNameTheOption() {
        XCTAssertTrue(err("recipe(epochz: 3)").contains("did you mean 'epochs'"))
        XCTAssertTrue(err("recipe(precision: \"bf17\")").contains("precision"))
        XCTAssertTrue(err("recipe(epochs: 0)").contains("epochs must be >= 1"))
        XCTAssertTrue(err("recipe(randaugment: \"auto\")").contains("rand-"))
        XCTAssertTrue(err("recipe(grad_clip: \"yes\")").contains("grad_clip"))
        XCTAssertTrue(err("recipe(warmup_epochs: 5, epochs: 2)").contains("warmup_epochs"))
    }

    func testPrintingShowsTableColumn() {
        let o = out("print(recipe(name: \"mine\", epochs: 7, precision: \"bf16\", drop_path: 0.2))")
        XCTAssertTrue(o.contains("model                          | mine"), o)
        XCTAssertTrue(o.contains("epochs                         | 7"), o)
        XCTAssertTrue(o.contains("amp                            | bf16"), o)
        XCTAssertTrue(o.contains("stochastic depth rate          | 0.2"), o)
    }

    func testAugmentationAndScheduleFromScripts() {
        XCTAssertEqual(out("""
        use recipes
        a = recipes.convnext_tiny.augmentation(0)
        b = recipes.convnext_tiny.augmentation(7)
        print(a.randaugment, a.mix_prob, a.cutmix, b.randaugment, b.cutmix, b.switch_prob)
        r = recipe(lr: 1, lr_batch: 128, batch: 128, epochs: 2, warmup_epochs: 1, warmup_lr: 0, min_lr: 0)
        print(r.lr_at(0, steps_per_epoch: 3), r.lr_at(2, steps_per_epoch: 3), r.lr_at(3, steps_per_epoch: 3))
        """), "1 0.5 0 7 1 0.2\n0 1 1\n")
    }

    /// Every cell of the study's recipe table (docs/reference.md section 4, stdlib/recipes.adv), column by column.
    func testStudyTableEncodedExactly() {
        let expected: [String: [String: String]] = [
            "convnext_tiny": ["epochs": "300", "batch": "4096", "optimizer": "adamw", "lr": "0.001", "schedule": "cosine",
                              "min_lr": "2.5e-07", "warmup_lr": "0", "warmup_epochs": "10", "precision": "bf16",
                              "weight_decay": "0.05", "label_smoothing": "0.1", "dropout": "0", "drop_path": "0.1",
                              "repeated_aug": "false", "grad_clip": "false", "ema": "false", "randaugment": "rand-m9-mstd0.5-inc1",
                              "aug_warmup": "true", "mixup": "0.8", "cutmix": "1", "mix_prob": "1", "random_erasing": "0", "lr_batch": "1024"],
            "swin_tiny": ["epochs": "300", "batch": "4096", "optimizer": "adamw", "lr": "0.001", "schedule": "cosine",
                          "min_lr": "2.5e-07", "warmup_lr": "0", "warmup_epochs": "10", "precision": "bf16",
                          "weight_decay": "0.05", "label_smoothing": "0.1", "dropout": "0", "drop_path": "0.1",
                          "repeated_aug": "false", "grad_clip": "false", "ema": "false", "randaugment": "rand-m9-mstd0.5-inc1",
                          "aug_warmup": "true", "mixup": "0.8", "cutmix": "1", "mix_prob": "1", "random_erasing": "0", "lr_batch": "1024"],
            "poolformer_s36": ["epochs": "300", "batch": "4096", "optimizer": "adamw", "lr": "0.001", "schedule": "cosine",
                               "min_lr": "2.5e-07", "warmup_lr": "0", "warmup_epochs": "5", "precision": "bf16",
                               "weight_decay": "0.05", "label_smoothing": "0.1", "dropout": "0", "drop_path": "0.2",
                               "repeated_aug": "false", "grad_clip": "false", "ema": "false", "randaugment": "rand-m9-mstd0.5-inc1",
                               "aug_warmup": "true", "mixup": "0.8", "cutmix": "1", "mix_prob": "1", "random_erasing": "0", "lr_batch": "1024"],
            "deit_small": ["epochs": "100", "batch": "4096", "optimizer": "adamw", "lr": "0.001", "schedule": "cosine",
                           "min_lr": "1e-05", "warmup_lr": "1e-06", "warmup_epochs": "10", "precision": "bf16",
                           "weight_decay": "0.05", "label_smoothing": "0.1", "dropout": "0", "drop_path": "0",
                           "repeated_aug": "false", "grad_clip": "false", "ema": "false", "randaugment": "rand-m9-mstd0.5-inc1",
                           "aug_warmup": "true", "mixup": "0.8", "cutmix": "1", "mix_prob": "1", "random_erasing": "0", "lr_batch": "1024"],
            "resnet50_gelu": ["epochs": "100", "batch": "512", "optimizer": "sgd", "momentum": "0.9", "lr": "0.4", "schedule": "step",
                              "decay_epochs": "30", "decay_rate": "0.1",
                              "min_lr": "1e-05", "warmup_lr": "0.1", "warmup_epochs": "5", "precision": "fp32",
                              "weight_decay": "0.0001", "label_smoothing": "0.1", "dropout": "0", "drop_path": "0",
                              "repeated_aug": "false", "grad_clip": "false", "ema": "false", "randaugment": "rand-m9-mstd0.5-inc1",
                              "aug_warmup": "false", "mixup": "0", "cutmix": "0", "mix_prob": "1", "random_erasing": "0", "lr_batch": "1024"],
        ]
        for (arch, fields) in expected {
            let keys = fields.keys.sorted()
            let code = "use recipes\nr = recipes.\(arch)\n" + keys.map { "print(r.\($0))" }.joined(separator: "\n")
            let lines = out(code).split(separator: "\n").map(String.init)
            XCTAssertEqual(lines.count, keys.count, arch)
            for (k, got) in zip(keys, lines) {
                let want = fields[k] ?? ""
                if let g = Double(got), let w = Double(want) {
                    XCTAssertEqual(g, w, accuracy: abs(w) * 1e-12, "\(arch).\(k)")
                } else {
                    XCTAssertEqual(got, want, "\(arch).\(k)")
                }
            }
        }
        XCTAssertEqual(out("use recipes\nprint(len(recipes.table), recipes.table[3].name, recipes.table[4].workers, recipes.table[4].accumulation)"),
                       "5 deit-small 1 1\n")
    }

    /// One rule (docs/reference.md section 6): min_lr and warmup_lr scale with batch / the table's batch.
    func testStudyScalesWarmupAndKeepsLRRule() {
        XCTAssertEqual(out("""
        use recipes
        r = recipes.study("convnext_tiny", epochs: 3, batch: 128)
        print(r.epochs, r.batch, r.warmup_epochs, r.scaled_lr, r.min_lr, r.drop_path, r.aug_warmup)
        d = recipes.study("deit-small", epochs: 10, batch: 64)
        print(d.warmup_epochs, d.scaled_lr, d.warmup_lr)
        s = recipes.study("resnet50_gelu", epochs: 10, batch: 128)
        print(s.warmup_epochs, s.decay_epochs, s.scaled_lr, s.optimizer)
        print(recipes.study("convnext_atto").name, recipes.study("poolformer_s12").drop_path)
        """), "3 128 0.1 0.000125 7.8125e-09 0.1 true\n1 6.25e-05 1.5625e-08\n0.5 3 0.05 sgd\nconvnext-tiny 0.2\n")
        XCTAssertTrue(err("use recipes\nrecipes.study(\"mlp\")").contains("no study recipe for 'mlp'"))
    }

    func testRecipeTable() {
        let o = out("use recipes\nprint(recipe_table(recipes.table))")
        XCTAssertTrue(o.contains("| warmup                         | initlr=0, 10e linear    | initlr=0, 10e linear    | initlr=0, 5e linear     | initlr=1e-6, 10e linear | initlr=0.1, 5e linear |"), o)
        XCTAssertTrue(o.contains("| cutmix alpha                   | 0-1.0 at 6th e"), o)
        XCTAssertTrue(err("recipe_table([1])").contains("must be a Recipe"))
    }
    func testFitArgumentErrors() {
        let setup = "d = synthetic(n: 64, classes: 4, image: 8, channels: 1, test: 16)\nm = model(\"resnet50_gelu\", params: 2e4, image: 8, channels: 1, classes: 4)\n"
        XCTAssertTrue(err(setup + "fit(m, d)").contains("missing argument 'recipe'"))
        XCTAssertTrue(err(setup + "fit(m, 3, recipe: recipe(batch: 16))").contains("argument 'data' must be"))
        XCTAssertTrue(err(setup + "fit(m, d, recipe: recipe(batch: 16), attack: 3)").contains("must be an attack"))
        XCTAssertTrue(err(setup + "fit(m, d, recipe: recipe(batch: 16), checkpoint_every: 2)").contains("checkpoint_every needs checkpoint"))
        XCTAssertTrue(err(setup + "fit(m, d, recipe: recipe(batch: 16), epochz: 2)").contains("did you mean 'epochs'"))
        XCTAssertTrue(err(setup + "fit(m, d, recipe: recipe(batch: 16), resume: \"/nonexistent/x.safetensors\")").contains("/nonexistent/x.safetensors"))
        XCTAssertTrue(err(setup + "fit(m, d.train, recipe: recipe(batch: 16), validate: true)").contains("test split"))
        let three = "m3 = model(\"resnet50_gelu\", params: 2e4, image: 8, channels: 1, classes: 3)\n"
        XCTAssertTrue(err(setup + three + "fit(m3, d, recipe: recipe(batch: 16))").contains("the data has 4 classes but the model resnet50_gelu predicts 3"))
    }

    func testFitReturnsARecord() {
        let o = out("""
        seed(1)
        d = synthetic(n: 64, classes: 4, image: 8, channels: 1, test: 16)
        m = model("resnet50_gelu", params: 2e4, image: 8, channels: 1, classes: 4)
        res = fit(m, d, recipe: recipe(batch: 16, epochs: 1, lr: 0.01, lr_batch: 16), attack: pgd(eps: 4/255, step: 4/255, steps: 1), validate: true, progress: false)
        print(res.steps, len(res.epochs), res.stopped_early, has(res.validation, "val_clean"), res.adv >= 0)
        """)
        XCTAssertEqual(o, "4 1 false true true\n")
    }

    func testFitStoppedByMaxStepsReportsTheStepsItRan() {
        // max_steps inside the first epoch used to return loss, clean and adv as nil (no epoch had finished).
        let o = out("""
        seed(1)
        d = synthetic(n: 64, classes: 4, image: 8, channels: 1, test: 16)
        m = model("resnet50_gelu", params: 2e4, image: 8, channels: 1, classes: 4)
        res = fit(m, d, recipe: recipe(batch: 16, epochs: 2, lr: 0.01, lr_batch: 16), attack: pgd(eps: 4/255, step: 4/255, steps: 1), validate: true, max_steps: 2, progress: false)
        e = res.epochs[0]
        print(res.steps, res.stopped_early, len(res.epochs), e.epoch, e.complete, e.skipped, has(e, "val_clean"))
        print(type(res.loss), res.loss > 0, res.loss == e.loss, res.clean == e.clean, res.adv == e.adv, res.clean >= 0, res.adv >= 0, res.clean <= 100, len(keys(res.validation)))
        full = fit(m, d, recipe: recipe(batch: 16, epochs: 2, lr: 0.01, lr_batch: 16), validate: true, max_steps: 6, progress: false)
        print(full.steps, len(full.epochs), full.epochs[0].complete, full.epochs[1].complete, has(full.epochs[0], "val_clean"), has(full.validation, "val_clean"), full.loss == full.epochs[1].loss)
        """)
        XCTAssertEqual(o, "2 true 1 1 false 0 false\nnumber true true true true true true true 0\n6 2 true false true true true\n")
    }
}
