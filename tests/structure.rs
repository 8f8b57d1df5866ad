//! The tree's own rules (issue 12), checked on the sources so that a change
//! that breaks them fails `make test`: no import circle between the files
//! of a crate, and no module over ~400 lines of code (tests, comments and
//! blank lines not counted).
//!
//! An import is any `crate::…` or `super::…` path outside comments and
//! test modules, resolved to the longest module path it names; a file's
//! edges to its own submodules or ancestors through `mod` are not imports.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};

const CRATES: [&str; 5] = [
    "transport",
    "http-client",
    "redis-client",
    "smtp-client",
    "proxy-tunnel",
];

/// Above this many lines of code a module wants splitting.
const MAX_CODE_LINES: usize = 400;

struct Module {
    /// Path segments from the crate root (`[]` for lib.rs).
    path: Vec<String>,
    /// The code before the first `#[cfg(test)]`, comment lines dropped.
    code: String,
    file: PathBuf,
}

fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

fn modules(krate: &str) -> Vec<Module> {
    let src = workspace_root().join(krate).join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    files
        .into_iter()
        // Test files included by `#[path]` from a test module.
        .filter(|f| !f.to_string_lossy().ends_with("_tests.rs"))
        .map(|file| {
            let rel = file.strip_prefix(&src).unwrap().with_extension("");
            let mut path: Vec<String> = rel
                .components()
                .map(|c| c.as_os_str().to_string_lossy().into_owned())
                .collect();
            if matches!(path.last().map(String::as_str), Some("lib" | "mod")) {
                path.pop();
            }
            let text = fs::read_to_string(&file).unwrap();
            let before_tests = text.split("#[cfg(test)]").next().unwrap();
            let code = before_tests
                .lines()
                .filter(|l| !l.trim_start().starts_with("//"))
                .collect::<Vec<_>>()
                .join("\n");
            Module { path, code, file }
        })
        .collect()
}

/// Every `crate::a::b` / `super::a` path in `code`, braces expanded one level.
fn paths(code: &str) -> Vec<(bool, Vec<String>)> {
    let mut out = Vec::new();
    for (kw, is_super) in [("crate::", false), ("super::", true)] {
        let mut rest = code;
        while let Some(at) = rest.find(kw) {
            let before = rest[..at].chars().last();
            rest = &rest[at + kw.len()..];
            if before.is_some_and(|c| c.is_alphanumeric() || c == '_') {
                continue; // `pub(crate)`-like words are not paths
            }
            let items: Vec<&str> = if let Some(inner) = rest.strip_prefix('{') {
                let end = inner.find('}').unwrap_or(inner.len());
                inner[..end].split(',').collect()
            } else {
                let end = rest
                    .find(|c: char| !(c.is_alphanumeric() || c == '_' || c == ':'))
                    .unwrap_or(rest.len());
                vec![&rest[..end]]
            };
            for item in items {
                let segs: Vec<String> = item
                    .split(" as ")
                    .next()
                    .unwrap()
                    .trim()
                    .split("::")
                    .filter(|s| !s.is_empty())
                    .map(str::to_string)
                    .collect();
                out.push((is_super, segs));
            }
        }
    }
    out
}

/// The import graph of a crate: module path -> (module path -> the path
/// that made the edge).
fn graph(mods: &[Module]) -> BTreeMap<String, BTreeMap<String, String>> {
    let names: BTreeSet<Vec<String>> = mods.iter().map(|m| m.path.clone()).collect();
    let mut g = BTreeMap::new();
    for m in mods {
        let mut edges = BTreeMap::new();
        for (is_super, segs) in paths(&m.code) {
            let mut full = if is_super {
                // From a/b.rs (module a::b) and from a/b/mod.rs alike,
                // `super` is module a.
                let mut base = m.path.clone();
                base.pop();
                base
            } else {
                Vec::new()
            };
            full.extend(segs);
            let target = (0..=full.len())
                .rev()
                .map(|k| full[..k].to_vec())
                .find(|p| names.contains(p))
                .unwrap_or_default();
            if target != m.path {
                edges.insert(target.join("::"), full.join("::"));
            }
        }
        g.insert(m.path.join("::"), edges);
    }
    g
}

/// A cycle through `start`, if there is one (depth-first search).
fn cycle_from(g: &BTreeMap<String, BTreeMap<String, String>>, start: &str) -> Option<Vec<String>> {
    fn walk(
        g: &BTreeMap<String, BTreeMap<String, String>>,
        at: &str,
        start: &str,
        trail: &mut Vec<String>,
        seen: &mut BTreeSet<String>,
    ) -> bool {
        for next in g.get(at).into_iter().flat_map(|e| e.keys()) {
            if next == start {
                return true;
            }
            if seen.insert(next.clone()) {
                trail.push(next.clone());
                if walk(g, next, start, trail, seen) {
                    return true;
                }
                trail.pop();
            }
        }
        false
    }
    let mut trail = vec![start.to_string()];
    let mut seen = BTreeSet::new();
    walk(g, start, start, &mut trail, &mut seen).then_some(trail)
}

fn show(name: &str) -> String {
    if name.is_empty() {
        "<crate root>".into()
    } else {
        name.into()
    }
}

#[test]
fn no_import_circle_between_the_files_of_a_crate() {
    let mut circles = Vec::new();
    for krate in CRATES {
        let g = graph(&modules(krate));
        for start in g.keys() {
            if let Some(trail) = cycle_from(&g, start) {
                let mut steps = Vec::new();
                for (i, at) in trail.iter().enumerate() {
                    let next = &trail[(i + 1) % trail.len()];
                    let via = &g[at][next];
                    steps.push(format!("{} -> {} (crate::{via})", show(at), show(next)));
                }
                circles.push(format!("{krate}: {}", steps.join(", ")));
                break;
            }
        }
    }
    assert!(
        circles.is_empty(),
        "import circles:\n{}",
        circles.join("\n")
    );
}

#[test]
fn no_module_over_400_lines_of_code() {
    let mut long = Vec::new();
    for krate in CRATES {
        for m in modules(krate) {
            let n = m.code.lines().filter(|l| !l.trim().is_empty()).count();
            if n > MAX_CODE_LINES {
                long.push(format!("{}: {n} lines of code", m.file.display()));
            }
        }
    }
    assert!(
        long.is_empty(),
        "modules over {MAX_CODE_LINES} lines:\n{}",
        long.join("\n")
    );
}

#[test]
fn the_checks_see_a_circle_and_resolve_paths() {
    // The checker itself: a made-up crate where a -> b -> a.
    let m = |path: &[&str], code: &str| Module {
        path: path.iter().map(|s| s.to_string()).collect(),
        code: code.into(),
        file: PathBuf::new(),
    };
    let mods = [
        m(&["a"], "use crate::b::Thing;"),
        m(&["b"], "use crate::{a::Other, c};"),
        m(&["c"], "pub(crate) fn f() {}"),
        m(&["p", "x"], "use super::y::Y;"),
        m(&["p", "y"], ""),
        m(&["p"], ""),
    ];
    let g = graph(&mods);
    assert_eq!(g["p::x"].keys().collect::<Vec<_>>(), ["p::y"]);
    assert!(g["c"].is_empty(), "pub(crate) is not a path");
    assert_eq!(cycle_from(&g, "a"), Some(vec!["a".into(), "b".into()]));
    assert_eq!(cycle_from(&g, "c"), None);
}
