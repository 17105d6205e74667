// docs/builtins.md: generated from the registry and from one sample of each object type, and
// kept in sync with the generator.
import XCTest
import Foundation
@testable import Runtime

final class BuiltinsMarkdownTests: XCTestCase {
    /// The repository's docs/builtins.md (found from this file's path).
    static let checkedIn = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("docs/builtins.md")

    func testObjectMethodsAreDocumented() {
        // Object methods were documented only through help(obj.method), not in docs/builtins.md.
        let types = BuiltinsMarkdown.objectTypes(Registry.standard())
        XCTAssertEqual(types.map(\.type), BuiltinsMarkdown.samples.map(\.type), "every sample object could be made")
        let md = BuiltinsMarkdown.generate()
        for section in ["## Tensor (object)", "### Tensor.sum", "### Tensor.reshape", "### Dataset.batches", "### Recipe.with",
                        "### Model.summary", "### Pipeline.set", "## Batches (object)\n\nFields: `count`; no methods."] {
            XCTAssertTrue(md.contains(section), "missing \(section)")
        }
        XCTAssertTrue(md.contains("Object types: [Tensor](#tensor-object) · [Model](#model-object)"), md)
        // Each method's text is exactly what help(obj.method) shows.
        let (out, err) = runScript("help(zeros(1).sum)")
        XCTAssertNil(err)
        guard let sum = types.first?.methods.first(where: { $0.name == "Tensor.sum" }) else { return XCTFail("no Tensor.sum") }
        XCTAssertEqual(out, sum.signature + "\n" + CoreBuiltins.wrap(sum.doc, indent: "  ") + "\n")
        XCTAssertTrue(md.contains("### Tensor.sum\n\n```\n\(sum.signature)\n```\n\n\(sum.doc)\n"))
        // Fields are listed apart from methods.
        XCTAssertTrue(md.contains("Fields: `shape`, `ndim`, `T`, `grad`."), md)
    }

    func testCheckedInReferenceIsUpToDate() throws {
        let text = try String(contentsOf: BuiltinsMarkdownTests.checkedIn, encoding: .utf8)
        XCTAssertTrue(text == BuiltinsMarkdown.generate(),
                      "docs/builtins.md is out of date: regenerate it with `adv --builtins-markdown > docs/builtins.md`")
    }
}
