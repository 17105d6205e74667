import XCTest
import Lang
@testable import Runtime

/// Runs code in a fresh interpreter; returns what it printed and the error text (if any).
func runScript(_ code: String, name: String = "t.adv", limits: Limits? = nil, args: [String] = []) -> (out: String, err: String?) {
    var out = ""
    let interp = Interpreter(args: args, output: { out += $0 })
    if let l = limits { interp.limits = l }
    do {
        try interp.run(SourceFile(name: name, text: code))
        return (out, nil)
    } catch let e as ScriptError {
        return (out, e.render())
    } catch let e as Diagnostics {
        return (out, e.description)
    } catch {
        return (out, "\(error)")
    }
}

/// The printed output of code that must run without error.
func output(_ code: String, file: StaticString = #filePath, line: UInt = #line) -> String {
    let (out, err) = runScript(code)
    XCTAssertNil(err, "unexpected error: \(err ?? "")", file: file, line: line)
    return out
}

/// The first line of the error code raises (it must raise one).
func errorLine(_ code: String, file: StaticString = #filePath, line: UInt = #line) -> String {
    let (_, err) = runScript(code)
    XCTAssertNotNil(err, "expected an error from: \(code)", file: file, line: line)
    return err.map { String($0.split(separator: "\n", omittingEmptySubsequences: false)[0]) } ?? ""
}
