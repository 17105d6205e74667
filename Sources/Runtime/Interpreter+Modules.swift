// `use NAME` and `use "path.adv"`: find the file, run it once per session in its own scope,
// bind a module value.
import Foundation
import Lang

extension Interpreter {
    /// Directories searched for `use NAME`: each entry of ADV_PATH (colon-separated), then the
    /// stdlib of the installation or the source tree (`stdlibDirectory`).
    public static func defaultSearchPaths() -> [String] {
        var out: [String] = []
        if let p = ProcessInfo.processInfo.environment["ADV_PATH"] {
            out += p.split(separator: ":").map(String.init).filter { !$0.isEmpty }
        }
        if let s = stdlibDirectory() { out.append(s) }
        return out
    }

    /// Where the stdlib is, relative to the executable (symlinks resolved), so an installed
    /// binary and a build in the source tree both find theirs (docs/language.md, "Modules"):
    /// `PREFIX/share/adv/stdlib` for `PREFIX/bin/adv` (what `make install` lays out), else the
    /// first `stdlib` folder next to the executable or in one of its parent directories
    /// (`.build/release/adv` in a checkout). A binary copied elsewhere falls back to the stdlib built
    /// into it (`EmbeddedStdlib`, see `resolveModule`).
    public static func stdlibDirectory() -> String? {
        let exe = Bundle.main.executableURL ?? URL(fileURLWithPath: CommandLine.arguments.first ?? ".")
        let bin = exe.resolvingSymlinksInPath().deletingLastPathComponent()
        func isDirectory(_ url: URL) -> Bool {
            var isDir: ObjCBool = false
            return FileManager.default.fileExists(atPath: url.path, isDirectory: &isDir) && isDir.boolValue
        }
        let installed = bin.deletingLastPathComponent().appendingPathComponent("share/adv/stdlib")
        if isDirectory(installed) { return installed.standardized.path }
        var dir = bin
        for _ in 0..<8 {
            let cand = dir.appendingPathComponent("stdlib")
            if isDirectory(cand) { return cand.path }
            let up = dir.deletingLastPathComponent()
            if up.path == dir.path { break }
            dir = up
        }
        return nil
    }

    /// The path prefix of stdlib modules built into the binary (`EmbeddedStdlib`): `use NAME` falls
    /// back to them when no NAME.adv is on disk, so a binary copied anywhere keeps its stdlib.
    static let embeddedPrefix = "<stdlib>/"

    /// A module's source: the built-in copy for an `embeddedPrefix` path, else the file.
    static func loadModule(path: String) throws -> SourceFile {
        if path.hasPrefix(embeddedPrefix),
           let text = EmbeddedStdlib.files[String(path.dropFirst(embeddedPrefix.count).dropLast(4))] {
            return SourceFile(name: path, text: text + "\n")
        }
        return try SourceLoader.load(path: path)
    }

    /// The file a `use` in `source` names, and the module's default binding name.
    func resolveModule(_ target: UseTarget, from source: SourceFile) throws -> (path: String, name: String) {
        let baseDir: String = {
            if source.name.hasPrefix("<") || source.name == "-e" { return FileManager.default.currentDirectoryPath }
            return URL(fileURLWithPath: source.name).deletingLastPathComponent().path
        }()
        switch target {
        case .name(let n):
            let dirs = [baseDir] + searchPaths
            guard let found = dirs.map({ URL(fileURLWithPath: $0).appendingPathComponent(n + ".adv").path })
                    .first(where: { FileManager.default.fileExists(atPath: $0) }) else {
                if EmbeddedStdlib.files[n] != nil { return (Self.embeddedPrefix + n + ".adv", n) }
                throw RuntimeError.name("no module '\(n)': looked for \(n).adv in \(dirs.joined(separator: ", ")) (set ADV_PATH to add directories)")
            }
            return (found, n)
        case .path(let p):
            let url = p.hasPrefix("/") ? URL(fileURLWithPath: p) : URL(fileURLWithPath: baseDir).appendingPathComponent(p)
            return (url.standardized.path, url.deletingPathExtension().lastPathComponent)
        }
    }

    /// Parses every module that `stmts` (from `source`) uses, and the modules those use, before
    /// anything runs: a syntax error in a used module is then reported like one in the script
    /// (status 2) instead of after the script has already run statements. Modules that cannot be
    /// found or read are left to the `use` statement, which reports them when it runs.
    func preparseModules(_ stmts: [Stmt], from source: SourceFile) throws {
        var targets: [UseTarget] = []
        func collect(_ body: [Stmt]) {
            for s in body {
                switch s.kind {
                case .use(let t, _): targets.append(t)
                case .if_(let branches, let elseBody):
                    for b in branches { collect(b.body) }
                    if let e = elseBody { collect(e) }
                case .for_(_, _, _, let body), .while_(_, let body): collect(body)
                case .function(let d): collect(d.body)
                default: break
                }
            }
        }
        collect(stmts)
        for t in targets {
            guard let (path, _) = try? resolveModule(t, from: source) else { continue }
            let key = URL(fileURLWithPath: path).resolvingSymlinksInPath().path
            if modules[key] != nil || parsedModules[key] != nil { continue }
            guard let src = try? Self.loadModule(path: path) else { continue }
            let (mstmts, diags) = Parser.parse(src)
            if !diags.isEmpty { throw Diagnostics(diags) }
            parsedModules[key] = (src, mstmts)
            try preparseModules(mstmts, from: src)
        }
    }

    func use(_ target: UseTarget, alias: String?, from source: SourceFile, into env: Environment) throws {
        let (path, name) = try resolveModule(target, from: source)
        let bindAs = alias ?? name
        guard let first = bindAs.utf8.first, isIdentStartByte(first), bindAs.utf8.allSatisfy(isIdentByte) else {
            throw RuntimeError.name("cannot bind module '\(bindAs)' to a name; use 'use \"...\" as NAME'")
        }
        let key = URL(fileURLWithPath: path).resolvingSymlinksInPath().path
        if let m = modules[key] {
            env.values[bindAs] = .module(m)
            return
        }
        if loading.contains(key) { throw RuntimeError.value("circular 'use' of \(path)") }
        let stmts: [Stmt]
        if let parsed = parsedModules.removeValue(forKey: key) {
            stmts = parsed.statements
        } else {
            let src = try Self.loadModule(path: path)
            let (s, diags) = Parser.parse(src)
            if !diags.isEmpty { throw Diagnostics(diags) }
            stmts = s
        }
        loading.insert(key)
        defer { loading.remove(key) }
        let menv = Environment()
        menv.values["args"] = globals.values["args"]
        for s in stmts { _ = try exec(s, menv) }
        let m = Module(name: name, path: path, env: menv)
        modules[key] = m
        env.values[bindAs] = .module(m)
    }
}

private func isIdentStartByte(_ c: UInt8) -> Bool { (c >= 97 && c <= 122) || (c >= 65 && c <= 90) || c == 95 }
private func isIdentByte(_ c: UInt8) -> Bool { isIdentStartByte(c) || (c >= 48 && c <= 57) }
