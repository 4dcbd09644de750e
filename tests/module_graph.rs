//! The crate's module graph runs one way: `platform -> api -> (actions,
//! rest) -> engine -> schema`, each layer using only the layers below it.
//! This test reads the sources and fails on any `crate::` path that points
//! at the same or a higher layer of another module.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

/// Every top-level module and its layer; a module may use modules of lower
/// layers only.
const LAYERS: &[(&str, u8)] = &[
    ("limits", 0),
    ("schema", 1),
    ("http", 1),
    ("config", 2),
    ("engine", 3),
    ("auth", 3),
    ("error", 4),
    ("rest", 5),
    ("actions", 6),
    ("api", 7),
    ("platform", 8),
];

fn layer(module: &str) -> Option<u8> {
    LAYERS.iter().find(|(m, _)| *m == module).map(|(_, l)| *l)
}

fn sources(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            sources(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The top-level module a source file belongs to (`src/x.rs`, `src/x/..`,
/// and `src/x_tests.rs`, which `x` includes with `#[path]`).
fn owner(src: &Path, file: &Path) -> Option<String> {
    let rel = file.strip_prefix(src).unwrap();
    let first = rel.components().next()?.as_os_str().to_str()?.to_string();
    let name = first.trim_end_matches(".rs").trim_end_matches("_tests");
    (name != "lib").then(|| name.to_string())
}

/// Every `crate::<module>` named in a source text, comments excluded.
fn uses(text: &str) -> Vec<String> {
    let mut found = Vec::new();
    for line in text.lines() {
        let code = line.split("//").next().unwrap_or("");
        let mut rest = code;
        while let Some(at) = rest.find("crate::") {
            let after = &rest[at + "crate::".len()..];
            let name: String = after
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                .collect();
            if !name.is_empty() {
                found.push(name);
            }
            rest = after;
        }
    }
    found
}

#[test]
fn modules_depend_only_on_lower_layers() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    sources(&src, &mut files);
    let mut upward = BTreeMap::new();
    for file in &files {
        let Some(from) = owner(&src, file) else { continue };
        let from_layer = layer(&from).unwrap_or_else(|| panic!("module {from} has no layer in LAYERS"));
        for to in uses(&fs::read_to_string(file).unwrap()) {
            if to == from {
                continue;
            }
            let to_layer = layer(&to)
                .unwrap_or_else(|| panic!("{} uses crate::{to}, which has no layer", file.display()));
            if to_layer >= from_layer {
                upward
                    .entry(format!("{from} -> {to}"))
                    .or_insert_with(Vec::new)
                    .push(file.strip_prefix(&src).unwrap().display().to_string());
            }
        }
    }
    assert!(upward.is_empty(), "arrows that run up or sideways: {upward:#?}");
}

#[test]
fn the_checker_sees_uses_in_paths_and_use_lists() {
    let text = "use crate::engine::{A, B};\nlet x = crate::limits::MAX; // crate::api is a comment\n";
    assert_eq!(uses(text), ["engine", "limits"]);
}
