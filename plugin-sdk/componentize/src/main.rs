//! `palisade-componentize core.wasm -o plugin.wasm`: the command-line front of the library.

use std::fs;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, Result};
use clap::Parser;

/// Turns a core WebAssembly module built with wit-bindgen into a component that Palisade can load
/// as a plugin.
#[derive(Debug, Parser)]
#[command(version)]
struct Arguments {
    /// Core module to read, such as `target/wasm32-unknown-unknown/release/greeting.wasm`.
    input: PathBuf,

    /// Component file to write; its folder must exist.
    #[arg(short, long)]
    output: PathBuf,
}

fn main() -> ExitCode {
    let arguments = Arguments::parse();
    match run(&arguments) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            // The command's only output channel for errors is standard error.
            #[allow(clippy::print_stderr)]
            {
                eprintln!("palisade-componentize: {error:#}");
            }
            ExitCode::FAILURE
        }
    }
}

fn run(arguments: &Arguments) -> Result<()> {
    let input = &arguments.input;
    let module = fs::read(input).with_context(|| format!("reading {} failed", input.display()))?;
    let component = palisade_componentize::componentize(&module)
        .with_context(|| format!("{} cannot become a component", input.display()))?;

    let output = &arguments.output;
    fs::write(output, component).with_context(|| format!("writing {} failed", output.display()))
}
