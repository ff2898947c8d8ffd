//! Generates the `ErrorId` enum from `errors.tsv`, the Kuzzle v2 error catalogue.
//!
//! Each line holds an error id (`domain.subdomain.error`), its Kuzzle error class, its HTTP status
//! and its numeric code. Generating the enum keeps the 274 entries in one data file that can be
//! diffed against Kuzzle's catalogue, while callers still get a typed, exhaustive value.

use std::env;
use std::fmt::Write as _;
use std::fs;
use std::path::Path;

fn main() {
    println!("cargo::rerun-if-changed=errors.tsv");
    let catalogue = fs::read_to_string("errors.tsv").expect("errors.tsv is readable");

    let entries: Vec<Entry> = catalogue
        .lines()
        .skip(1)
        .filter(|l| !l.is_empty())
        .map(parse)
        .collect();
    let source = render(&entries);

    let out = Path::new(&env::var("OUT_DIR").expect("cargo sets OUT_DIR")).join("catalogue.rs");
    fs::write(out, source).expect("OUT_DIR is writable");
}

struct Entry {
    id: String,
    class: String,
    status: u16,
    code: u32,
}

fn parse(line: &str) -> Entry {
    let fields: Vec<&str> = line.split('\t').collect();
    assert_eq!(
        fields.len(),
        4,
        "errors.tsv line `{line}` must have 4 tab-separated fields"
    );
    Entry {
        id: fields[0].to_owned(),
        class: fields[1].to_owned(),
        status: fields[2].parse().expect("status is a number"),
        code: fields[3].parse().expect("code is a number"),
    }
}

/// Turns `api.assert.missing_argument` into `ApiAssertMissingArgument`.
fn variant_name(id: &str) -> String {
    id.split(['.', '_'])
        .map(|word| {
            let mut chars = word.chars();
            match chars.next() {
                Some(first) => first.to_ascii_uppercase().to_string() + chars.as_str(),
                None => String::new(),
            }
        })
        .collect()
}

fn render(entries: &[Entry]) -> String {
    let mut out = String::new();

    out.push_str("/// Every error id of the Kuzzle v2 catalogue.\n");
    out.push_str("#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]\n");
    out.push_str("pub enum ErrorId {\n");
    for entry in entries {
        writeln!(
            out,
            "    /// `{}` ({} {})",
            entry.id, entry.status, entry.class
        )
        .unwrap();
        writeln!(out, "    {},", variant_name(&entry.id)).unwrap();
    }
    out.push_str("}\n\n");

    out.push_str("impl ErrorId {\n");
    out.push_str("    /// Every id, in catalogue order.\n");
    out.push_str("    pub const ALL: &'static [ErrorId] = &[\n");
    for entry in entries {
        writeln!(out, "        ErrorId::{},", variant_name(&entry.id)).unwrap();
    }
    out.push_str("    ];\n\n");

    render_getter(&mut out, entries, "id", "&'static str", |e| {
        format!("{:?}", e.id)
    });
    render_getter(&mut out, entries, "class", "&'static str", |e| {
        format!("{:?}", e.class)
    });
    render_getter(&mut out, entries, "status", "u16", |e| e.status.to_string());
    render_getter(&mut out, entries, "code", "u32", |e| e.code.to_string());
    out.push_str("}\n");
    out
}

fn render_getter(
    out: &mut String,
    entries: &[Entry],
    name: &str,
    ty: &str,
    value: impl Fn(&Entry) -> String,
) {
    writeln!(
        out,
        "    /// The catalogue's `{name}` column for this error."
    )
    .unwrap();
    writeln!(out, "    pub const fn {name}(self) -> {ty} {{").unwrap();
    out.push_str("        match self {\n");
    for entry in entries {
        writeln!(
            out,
            "            ErrorId::{} => {},",
            variant_name(&entry.id),
            value(entry)
        )
        .unwrap();
    }
    out.push_str("        }\n    }\n\n");
}
