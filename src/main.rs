//! The `ostiary` binary: parse the command line and hand over to the library.
//! All behaviour lives in the library so that tests can run the same code in-process.

use clap::Parser;

fn main() -> std::process::ExitCode {
    let cli = ostiary::cli::Cli::parse();
    ostiary::cli::run(cli)
}
