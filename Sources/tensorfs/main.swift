// `tensorfs ...`, `tensorfs SOURCE DIR -o OPTS` (as mount.fuse3 runs it) and
// `mount.fuse.tensorfs SOURCE DIR -o OPTS` (as mount(8) runs it) all come here.
switch Invocation(commandLine: CommandLine.arguments) {
case .run(let arguments):
    TensorFSCommand.main(arguments)
case .fake:
    break
case .refused(let message):
    fail(message)
}
