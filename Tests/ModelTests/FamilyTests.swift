// The family declarations (ModelFamily.swift, Models/*/X+Family.swift): each family's members,
// options, budget rule and facts are consistent with each other and with what model() does.
import XCTest
import Foundation
@testable import Engine
@testable import Tensor

final class FamilyTests: XCTestCase {
    /// Names are unique, start with their family's name, and each member carries its family.
    func testMembersBelongToTheirFamily() {
        var seen = Set<String>()
        for f in Models.families {
            XCTAssertFalse(f.members.isEmpty, f.name)
            XCTAssertTrue(f.members.contains { $0.name == f.studyMember }, "\(f.name): study member \(f.studyMember)")
            XCTAssertTrue(Models.family(named: f.name) == f, f.name)
            for c in f.members {
                XCTAssertTrue(c.name.hasPrefix(f.name), c.name)
                XCTAssertEqual(c.arch.rawValue, f.name, c.name)
                XCTAssertTrue(seen.insert(c.name).inserted, "\(c.name) declared twice")
                XCTAssertNoThrow(try c.validate(), c.name)
                XCTAssertEqual(ModelConfig.family(c.name), c)
            }
        }
        XCTAssertEqual(ModelConfig.familyNames, Models.families.flatMap { $0.members.map(\.name) })
        XCTAssertNil(Models.family(named: "vgg"))
    }

    /// A family-specific option is refused by the families that do not declare it, with an error
    /// naming those that do, and stored in the JSON of those that do.
    func testOptionsFollowTheDeclarations() throws {
        let given: [(ModelOption, (inout ModelOptions) -> Void)] = [
            (.patch, { $0.patch = 2 }), (.window, { $0.window = 2 }), (.act, { $0.act = "relu" }), (.stem, { $0.stem = 8 }),
        ]
        for f in Models.families {
            let c = try Models.configure(f.members[0].name, ModelOptions())
            let json = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(c.json.utf8)) as? [String: Any])
            for option in [ModelOption.patch, .window, .heads, .act, .stem] {
                XCTAssertEqual(json[option.rawValue] != nil, f.options.contains(option), "\(f.name) \(option)")
            }
            for (option, set) in given where !f.options.contains(option) {
                var o = ModelOptions()
                set(&o)
                XCTAssertThrowsError(try Models.configure(f.members[0].name, o), "\(f.name) \(option)") { e in
                    XCTAssertTrue("\(e)".contains(Models.notApplicable(option, to: f)), "\(e)")
                    for taker in Models.families where taker.options.contains(option) {
                        XCTAssertTrue("\(e)".contains(taker.name), "\(e) names \(taker.name)")
                    }
                }
            }
        }
        XCTAssertEqual(Models.notApplicable(.window, to: ConvNeXtFamily.self), "window: applies to swin only")
        XCTAssertEqual(Models.notApplicable(.patch, to: ResNetFamily.self), "patch: applies to convnext, swin and deit, not resnet")
    }

    /// The budget rule grows the parameter count with w, and the facts reach the built network.
    func testBudgetRuleAndFacts() throws {
        for f in Models.families {
            var o = ModelOptions()
            o.image = 32; o.classes = 10
            let base = try Models.configure(f.studyMember, o)
            var last = 0
            for w in [0.125, 0.25, 0.5] {
                let n = try Models.countParams(f.scaled(base, w: w, quantum: 8, keepHeads: false))
                XCTAssertGreaterThan(n, last, "\(f.name) at w \(w)")
                last = n
            }
            o.width = 0.125
            let m = try Models.make(f.studyMember, o, rng: RNG(seed: 0))
            XCTAssertEqual(m.restartBatchLimit, f.restartBatchLimit, f.name)
            XCTAssertEqual(m.fixedInputSize, f.fixedInputSize, f.name)
            XCTAssertEqual(m.config.stemGridSide, f.stemGridSide(m.config), f.name)
        }
    }

    /// Every member's timm name builds the member with the same configuration.
    func testEveryMemberAcceptsItsTimmName() {
        for f in Models.families {
            for c in f.members {
                let timm = f.timmName(c.name)
                let a = runModelScript("m = model(\"\(timm)\", width: 0.0625)\nprint(m)")
                let b = runModelScript("m = model(\"\(c.name)\", width: 0.0625)\nprint(m)")
                XCTAssertNil(a.err, "\(timm): \(a.err ?? "")")
                XCTAssertEqual(a.out, b.out, timm)
            }
        }
        XCTAssertEqual(SwinFamily.timmName("swin_tiny"), "swin_tiny_patch4_window7_224")
        XCTAssertEqual(DeiTFamily.timmName("deit_small"), "deit_small_patch16_224")
    }
}
