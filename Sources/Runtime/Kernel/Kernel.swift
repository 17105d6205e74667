// `adv kernel CONNECTION_FILE`: a Jupyter kernel (messaging protocol 5.3, docs/notebooks.md).
// The main thread serves shell requests and runs cells; control (interrupt, shutdown) and the
// heartbeat have threads of their own; iopub carries status, streams and results. Messages that
// are malformed or wrongly signed are logged to stderr and dropped.
import CZMQ
import Engine
import Foundation
import Lang
import Tensor

/// One kernel session: its sockets and the interpreter the cells share.
public final class Kernel {
    let connection: ConnectionFile
    let signer: MessageSigner
    let session = UUID().uuidString.lowercased()
    let context: UnsafeMutableRawPointer
    let shell, control, iopub, stdin, heartbeat: Socket
    /// The session the cells run in (its variables outlive each cell).
    let interp: Interpreter
    /// Counts executed cells (`In [n]`).
    var executionCount = 0
    /// The request whose cell runs now: streams are sent as its children.
    var running: WireMessage?
    /// A running cell's fd 2, forwarded to the notebook; the kernel's own log.
    let stderrForwarder = StderrForwarder()
    /// Progress lines as displays updated in place.
    var progress = ProgressRelay()

    /// Binds the five channels of `connection`.
    public init(connection: ConnectionFile) throws {
        self.connection = connection
        signer = MessageSigner(key: connection.key)
        guard let ctx = zmq_ctx_new() else { throw Socket.Failure(description: "cannot create a ZeroMQ context") }
        context = ctx
        let c = connection
        shell = try Socket(context: ctx, type: ZMQ_ROUTER, endpoint: c.endpoint(c.shellPort), name: "shell")
        control = try Socket(context: ctx, type: ZMQ_ROUTER, endpoint: c.endpoint(c.controlPort), name: "control")
        iopub = try Socket(context: ctx, type: ZMQ_PUB, endpoint: c.endpoint(c.iopubPort), name: "iopub")
        stdin = try Socket(context: ctx, type: ZMQ_ROUTER, endpoint: c.endpoint(c.stdinPort), name: "stdin")
        heartbeat = try Socket(context: ctx, type: ZMQ_REP, endpoint: c.endpoint(c.hbPort), name: "heartbeat")
        interp = Interpreter()
    }

    /// `adv kernel PATH`: loads the connection file and serves until shutdown.
    /// - Returns: the exit status (2 for a missing or invalid connection file or a port in use).
    public static func main(connectionFile path: String) -> Int32 {
        let kernel: Kernel
        do {
            kernel = try Kernel(connection: try ConnectionFile.load(path: path))
        } catch {
            Runner.printError("\(error)")
            return 2
        }
        kernel.serve()
        return 0
    }

    /// Serves until a shutdown request ends the process.
    func serve() {
        interp.output = { [weak self] in self?.stream("stdout", $0) }
        // show(v): a display_data of v's MIME bundle (a figure as SVG and PNG, a table as HTML)
        interp.display = { [weak self] v in
            guard let self else { return }
            publish("display_data", content: ["data": KernelDisplay.bundle(for: v), "metadata": JSON()], parent: running)
        }
        Engine.Progress.write = { [weak self] in self?.progressWrite($0) }
        Engine.Progress.isTerminal = true  // in-place lines, shown as displays updated in place (ProgressRelay)
        signal(SIGINT) { _ in Interrupt.requested = true }
        let hb = Thread { [heartbeat] in heartbeat.echoForever() }
        hb.name = "adv-heartbeat"
        hb.start()
        let ctl = Thread { [self] in serve(control) }
        ctl.name = "adv-control"
        ctl.start()
        publish("status", content: ["execution_state": "starting"], parent: nil)
        serve(shell)
    }

    /// Receives and handles requests on `socket` until the context ends.
    func serve(_ socket: Socket) {
        while let frames = socket.receive() {
            let msg: WireMessage
            do {
                msg = try WireMessage.decode(frames, signer: signer)
            } catch {
                stderrForwarder.log("adv kernel: rejected a message on \(socket.name): \(error)")
                continue
            }
            publish("status", content: ["execution_state": "busy"], parent: msg)
            handle(msg, on: socket)
            publish("status", content: ["execution_state": "idle"], parent: msg)
        }
    }

    /// Sends a `type` reply to `request` on `socket`.
    func reply(_ type: String, to request: WireMessage, content: JSON, on socket: Socket) {
        socket.send(WireMessage.reply(type, to: request, content: content, session: session).encode(signer: signer))
    }

    /// Publishes a message on iopub (topic: its type).
    func publish(_ type: String, content: JSON, parent: WireMessage?) {
        let m = WireMessage.reply(type, to: parent, content: content, session: session, identities: [Array(type.utf8)])
        iopub.send(m.encode(signer: signer))
    }

    /// Text the running cell wrote, as a stream message of `name` (stdout or stderr).
    func stream(_ name: String, _ text: String) {
        guard !text.isEmpty else { return }
        publish("stream", content: ["name": name, "text": text], parent: running)
    }

    /// What the progress display wrote, as displays updated in place and stderr streams.
    func progressWrite(_ text: String) {
        for action in progress.write(text) {
            switch action {
            case .show(let id, let line): publishLine("display_data", id: id, line)
            case .update(let id, let line): publishLine("update_display_data", id: id, line)
            case .stream(let s): stream("stderr", s)
            }
        }
    }

    /// A progress line as display `type` with display id `id`.
    func publishLine(_ type: String, id: String, _ line: String) {
        publish(type, content: ["data": ["text/plain": line] as JSON, "metadata": JSON(),
                                "transient": ["display_id": id] as JSON], parent: running)
    }

    /// Dispatches one request.
    func handle(_ msg: WireMessage, on socket: Socket) {
        switch msg.type {
        case "kernel_info_request": reply("kernel_info_reply", to: msg, content: kernelInfo, on: socket)
        case "execute_request": execute(msg, on: socket)
        case "complete_request": reply("complete_reply", to: msg, content: complete(msg.content), on: socket)
        case "inspect_request": reply("inspect_reply", to: msg, content: inspect(msg.content), on: socket)
        case "is_complete_request": reply("is_complete_reply", to: msg, content: isComplete(msg.content), on: socket)
        case "history_request": reply("history_reply", to: msg, content: ["status": "ok", "history": [Any]()], on: socket)
        case "comm_info_request": reply("comm_info_reply", to: msg, content: ["status": "ok", "comms": JSON()], on: socket)
        case "interrupt_request":
            Interrupt.requested = true
            reply("interrupt_reply", to: msg, content: ["status": "ok"], on: socket)
        case "shutdown_request":
            let restart = msg.content["restart"] as? Bool ?? false
            reply("shutdown_reply", to: msg, content: ["status": "ok", "restart": restart], on: socket)
            publish("status", content: ["execution_state": "idle"], parent: msg)
            usleep(300_000)  // let ZeroMQ deliver the reply
            exit(0)
        default:
            stderrForwarder.log("adv kernel: ignored a '\(msg.type)' message on \(socket.name) (not supported)")
        }
    }

    var kernelInfo: JSON {
        [
            "status": "ok",
            "protocol_version": WireMessage.protocolVersion,
            "implementation": "adv",
            "implementation_version": Version.string,
            "language_info": [
                "name": "adv",
                "version": Version.string,
                "mimetype": "text/x-adv",
                "file_extension": ".adv",
                "codemirror_mode": "swift",
                "pygments_lexer": "swift",
            ] as JSON,
            "banner": "adv \(Version.full): help() lists the builtins, help(name) shows one",
            "help_links": [Any](),
        ]
    }
}
