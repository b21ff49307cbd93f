//! The `taskrun` binary: everything lives in the library.

fn main() -> std::process::ExitCode {
    taskrun::main(std::env::args_os())
}
