//! The `apim-tune` binary: everything lives in the library; this maps its result to an exit code.

fn main() -> std::process::ExitCode {
    std::process::ExitCode::from(apim_tune::cli::main())
}
