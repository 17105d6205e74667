// Runs the interpreter on a thread with a large stack, so deep (but limited) recursion in
// scripts never overflows the native stack, whatever thread the caller is on.
import Foundation

final class BigStack: @unchecked Sendable {
    static let shared = BigStack(stackSize: 1 << 30)

    private let cond = NSCondition()
    private let callers = NSLock()
    private var job: (() -> Void)?
    private var done = false
    private var worker: pthread_t?

    init(stackSize: Int) {
        let t = Thread { [unowned self] in self.loop() }
        t.stackSize = stackSize
        t.name = "adv-interpreter"
        t.start()
    }

    private func loop() {
        cond.lock()
        worker = pthread_self()
        cond.broadcast()
        cond.unlock()
        while true {
            cond.lock()
            while job == nil { cond.wait() }
            var j = job
            job = nil
            cond.unlock()
            j?()
            j = nil  // release the caller's closure before reporting completion
            cond.lock()
            done = true
            cond.broadcast()
            cond.unlock()
        }
    }

    /// Runs `body` on the big-stack thread and waits for it (directly when already there).
    func run(_ body: () throws -> Void) throws {
        if let w = worker, pthread_equal(w, pthread_self()) != 0 {
            try body()
            return
        }
        callers.lock()
        defer { callers.unlock() }
        var failure: Error?
        try withoutActuallyEscaping(body) { b in
            let wrapped: () -> Void = {
                do { try b() } catch { failure = error }
            }
            cond.lock()
            while worker == nil { cond.wait() }
            done = false
            job = wrapped
            cond.broadcast()
            while !done { cond.wait() }
            cond.unlock()
            if let f = failure { throw f }
        }
    }
}
