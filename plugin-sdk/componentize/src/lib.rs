//! Turns a core WebAssembly module into a component.
//!
//! Guest bindings generators such as wit-bindgen embed the component type of their WIT world in
//! a `component-type*` custom section of the core module. The component encoder of
//! `wit-component` reads that section to wrap the module, its imports and exports into a
//! component that a component-model host such as wasmtime can load.

use anyhow::{Context, Result, bail};
use wit_component::ComponentEncoder;

/// Preamble of a core module: the magic number and version 1.
const CORE_MODULE_PREAMBLE: [u8; 8] = *b"\0asm\x01\0\0\0";

/// The magic number shared by core modules and components.
const WASM_MAGIC: [u8; 4] = *b"\0asm";

/// Encodes the core module `module` as a component, validating the result.
///
/// Fails with a message naming the cause when `module` is not a core module, carries no
/// component type, or does not match the world it was built for.
pub fn componentize(module: &[u8]) -> Result<Vec<u8>> {
    check_core_module(module)?;
    check_component_type(module)?;

    ComponentEncoder::default()
        .validate(true)
        .module(module)
        .context("the module's `component-type` section is invalid")?
        .encode()
        .context("the module does not match its WIT world (check its imports and exports)")
}

fn check_core_module(module: &[u8]) -> Result<()> {
    if module.starts_with(&CORE_MODULE_PREAMBLE) {
        return Ok(());
    }
    if module.starts_with(&WASM_MAGIC) {
        bail!("the input is already a component or an unsupported WebAssembly version");
    }
    bail!("the input is not a WebAssembly module: it does not start with `\\0asm`")
}

fn check_component_type(module: &[u8]) -> Result<()> {
    let (stripped, _) = wit_component::metadata::decode(module)
        .context("the module is invalid or its `component-type` section is corrupt")?;
    if stripped.is_none() {
        bail!(
            "the module has no `component-type` custom section: generate its bindings with \
             wit-bindgen (or another WIT bindings generator) and keep custom sections when \
             stripping or optimizing it"
        );
    }
    Ok(())
}
