//! WebAssembly components of the `plugin` world built from WAT, for tests that need a guest
//! without a guest toolchain.

/// Builds a component of the `plugin` world of the repository's `wit/` from a core module in
/// WAT text whose imports and exports follow the world's canonical ABI.
///
/// # Panics
///
/// When the WAT is invalid or the module does not match the world, naming the step that failed.
pub fn wat_component(wat: &str) -> Vec<u8> {
    let mut module = wat::parse_str(wat).expect("the guest's WAT is valid");

    let mut resolve = wit_parser::Resolve::default();
    let wit = concat!(env!("CARGO_MANIFEST_DIR"), "/../../wit");
    let (package, _) = resolve.push_path(wit).expect("the WIT package parses");
    let world = resolve
        .select_world(&[package], Some("plugin"))
        .expect("the WIT package has the world `plugin`");
    wit_component::embed_component_metadata(
        &mut module,
        &resolve,
        world,
        wit_component::StringEncoding::UTF8,
    )
    .expect("the WIT metadata embeds");

    wit_component::ComponentEncoder::default()
        .validate(true)
        .module(&module)
        .expect("the module matches the world")
        .encode()
        .expect("the component encodes")
}
