//! Runs the `palisade-componentize` binary on small core modules written in WAT.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use tempfile::TempDir;

/// A world with one exported function, small enough to implement in a few lines of WAT.
const WIT: &str = "package test:answer; world answer { export run: func() -> u32; }";

const ANSWER: &str = r#"(module
  (func (export "run") (result i32) i32.const 42)
  (memory (export "memory") 1))"#;

/// A module whose exports do not match the world: `run` is missing.
const NO_EXPORT: &str = r#"(module (memory (export "memory") 1))"#;

/// Preamble of a component: the magic number, version 13 and layer 1.
const COMPONENT_PREAMBLE: [u8; 8] = *b"\0asm\x0d\0\x01\0";

/// Parses `wat` into a core module and embeds the component type of the world `answer`.
fn module_with_world(wat: &str) -> Vec<u8> {
    let mut module = wat::parse_str(wat).expect("the test WAT is valid");
    let mut resolve = wit_parser::Resolve::default();
    let package = resolve
        .push_str("answer.wit", WIT)
        .expect("the test WIT parses");
    let world = resolve
        .select_world(&[package], Some("answer"))
        .expect("the test WIT has the world `answer`");
    wit_component::embed_component_metadata(
        &mut module,
        &resolve,
        world,
        wit_component::StringEncoding::UTF8,
    )
    .expect("the WIT metadata embeds");
    module
}

fn write_input(folder: &TempDir, bytes: &[u8]) -> PathBuf {
    let path = folder.path().join("core.wasm");
    std::fs::write(&path, bytes).expect("the temporary folder is writable");
    path
}

fn componentize(input: &Path, output: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_palisade-componentize"))
        .arg(input)
        .arg("-o")
        .arg(output)
        .output()
        .expect("the binary runs")
}

fn stderr_of(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

#[test]
fn module_becomes_component() {
    let folder = TempDir::new().expect("a temporary folder");
    let input = write_input(&folder, &module_with_world(ANSWER));
    let output_path = folder.path().join("plugin.wasm");

    let output = componentize(&input, &output_path);

    assert!(output.status.success(), "stderr: {}", stderr_of(&output));
    let component = std::fs::read(&output_path).expect("the component was written");
    assert_eq!(component[..8], COMPONENT_PREAMBLE);
}

#[test]
fn missing_component_type_rejected() {
    let folder = TempDir::new().expect("a temporary folder");
    let input = write_input(
        &folder,
        &wat::parse_str(ANSWER).expect("the test WAT is valid"),
    );
    let output_path = folder.path().join("plugin.wasm");

    let output = componentize(&input, &output_path);

    assert!(!output.status.success());
    assert!(stderr_of(&output).contains("no `component-type` custom section"));
    assert!(!output_path.exists());
}

#[test]
fn world_mismatch_rejected() {
    let folder = TempDir::new().expect("a temporary folder");
    let input = write_input(&folder, &module_with_world(NO_EXPORT));

    let output = componentize(&input, &folder.path().join("plugin.wasm"));

    assert!(!output.status.success());
    let stderr = stderr_of(&output);
    assert!(
        stderr.contains("does not match its WIT world"),
        "stderr: {stderr}"
    );
}

#[test]
fn non_wasm_input_rejected() {
    let folder = TempDir::new().expect("a temporary folder");
    let input = write_input(&folder, b"#!/bin/sh\n");

    let output = componentize(&input, &folder.path().join("plugin.wasm"));

    assert!(!output.status.success());
    assert!(stderr_of(&output).contains("is not a WebAssembly module"));
}

#[test]
fn component_input_rejected() {
    let folder = TempDir::new().expect("a temporary folder");
    let input = write_input(&folder, &COMPONENT_PREAMBLE);

    let output = componentize(&input, &folder.path().join("plugin.wasm"));

    assert!(!output.status.success());
    assert!(stderr_of(&output).contains("already a component"));
}

#[test]
fn missing_input_reported() {
    let folder = TempDir::new().expect("a temporary folder");
    let input = folder.path().join("absent.wasm");

    let output = componentize(&input, &folder.path().join("plugin.wasm"));

    assert!(!output.status.success());
    assert!(stderr_of(&output).contains("absent.wasm failed"));
}
