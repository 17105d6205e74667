// execute_request: runs a cell in the session (docs/notebooks.md). Printed text arrives as
// stdout streams, progress lines as displays updated in place (ProgressRelay), and whatever the
// cell writes to standard error (warnings, notes) as stderr streams (StderrForwarder); each bare
// expression's value is shown as the REPL shows it (the last one as the execute_result, earlier
// ones as display_data; a trailing `;` hides the last); an error is sent with its diagnostic and
// caret; an interrupt stops the cell and keeps the variables.
import Engine
import Foundation
import Lang
import Tensor

extension Kernel {
    func execute(_ msg: WireMessage, on socket: Socket) {
        let code = msg.content["code"] as? String ?? ""
        let silent = msg.content["silent"] as? Bool ?? false
        if !silent && (msg.content["store_history"] as? Bool ?? true) { executionCount += 1 }
        let count = executionCount
        if !silent { publish("execute_input", content: ["code": code, "execution_count": count], parent: msg) }
        running = msg
        defer { running = nil }
        progress.reset()
        let failure = stderrForwarder.capture(into: { [self] text in
            if !silent { publish("stream", content: ["name": "stderr", "text": text], parent: msg) }
        }) {
            run(code, name: "In[\(count)]", silent: silent, request: msg)
        }
        guard let (ename, evalue) = failure else {
            reply("execute_reply", to: msg, content: ["status": "ok", "execution_count": count,
                                                      "user_expressions": JSON(), "payload": [Any]()], on: socket)
            return
        }
        let traceback = evalue.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        let error: JSON = ["ename": ename, "evalue": evalue, "traceback": traceback]
        if !silent { publish("error", content: error, parent: msg) }
        reply("execute_reply", to: msg, content: error.merging(["status": "error", "execution_count": count]) { a, _ in a }, on: socket)
    }

    /// Runs `code`, showing values as it goes.
    /// - Returns: nil on success, else the error's name and its rendered diagnostic.
    func run(_ code: String, name: String, silent: Bool, request: WireMessage) -> (String, String)? {
        let source = SourceFile(name: name, text: code)
        let (stmts, diags) = Parser.parse(source)
        if !diags.isEmpty { return ("SyntaxError", Diagnostics(diags).description) }
        let hideLast = code.trimmingCharacters(in: .whitespacesAndNewlines).hasSuffix(";")
        Interrupt.requested = false
        do {
            try interp.execute(stmts, in: interp.globals, echo: { [self] v, stmt in
                if case .nil_ = v { return }
                let last = stmt === stmts.last
                if silent || (last && hideLast) { return }
                interp.globals.values["_"] = v
                let data = KernelDisplay.bundle(for: v)
                if last {
                    publish("execute_result", content: ["execution_count": executionCount, "data": data, "metadata": JSON()], parent: request)
                } else {
                    publish("display_data", content: ["data": data, "metadata": JSON()], parent: request)
                }
            })
        } catch let e as ScriptError {
            if case .interrupted = e.error { return ("Interrupted", "interrupted (variables are kept)") }
            return ("RuntimeError", e.render())
        } catch let e as ExitRequest {
            return ("Exit", "exit(\(e.code)) ends a script; the kernel keeps running (restart it to start over)")
        } catch let d as Diagnostics {
            return ("SyntaxError", d.description)
        } catch let d as Diagnostic {
            return ("SyntaxError", d.render())
        } catch {
            return ("Error", Runner.messageText(error, fallbackName: name))
        }
        return nil
    }
}
