//! The dependency rules of docs/design.md, checked on the source itself: no module below the
//! commands reaches up to them (or to the clap side), and the pure stages (`plan`, `planfile`,
//! `render`) use nothing that does I/O. A new wrong-way edge fails this test; so does an edge in
//! the list of those still to remove once it is gone (the list only shrinks).

use std::collections::BTreeSet;
use std::path::Path;

/// What only `main` and the commands may use.
const ABOVE: &[&str] = &["cli", "commands", "run", "settings", "main"];
/// Modules that do I/O (network, files, terminal, processes).
const IO: &[&str] = &[
    "cloudflare",
    "fsread",
    "audit",
    "sandbox",
    "progress",
    "logging",
    "confirm",
    "history",
];
/// Modules that must do no I/O.
const PURE: &[&str] = &["plan", "planfile", "render", "model", "explain", "export"];
/// Crates and std modules that do I/O.
const IO_PATHS: &[&str] = &[
    "std::fs",
    "std::net",
    "std::process",
    "tokio::",
    "reqwest::",
];

/// Edges still to remove while a redesign is under way (none now); a line here fails the test
/// once its edge is gone, so the list only shrinks.
const STILL_TO_REMOVE: &[(&str, &str)] = &[];

/// `(module, what it uses)` for every `crate::NAME` and I/O path in the file, comments left out.
fn edges(module: &str, text: &str, out: &mut BTreeSet<(String, String)>) {
    for line in text.lines() {
        let code = line.split("//").next().unwrap_or("");
        let mut rest = code;
        while let Some(at) = rest.find("crate::") {
            let after = &rest[at + "crate::".len()..];
            if let Some(group) = after.strip_prefix('{') {
                let inner = group.split('}').next().unwrap_or("");
                for item in inner.split(',') {
                    let name: String = item
                        .trim()
                        .chars()
                        .take_while(|c| c.is_alphanumeric() || *c == '_')
                        .collect();
                    if !name.is_empty() {
                        out.insert((module.to_string(), name));
                    }
                }
            } else {
                let name: String = after
                    .chars()
                    .take_while(|c| c.is_alphanumeric() || *c == '_')
                    .collect();
                if !name.is_empty() {
                    out.insert((module.to_string(), name));
                }
            }
            rest = after;
        }
        for path in IO_PATHS {
            if code.contains(path) {
                out.insert((module.to_string(), path.trim_end_matches("::").to_string()));
            }
        }
    }
}

fn walk(dir: &Path, root: &Path, out: &mut BTreeSet<(String, String)>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            walk(&path, root, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            let relative = path.strip_prefix(root).unwrap();
            let first = relative.components().next().unwrap();
            let module = Path::new(first.as_os_str())
                .file_stem()
                .unwrap()
                .to_string_lossy()
                .to_string();
            let text = std::fs::read_to_string(&path).unwrap();
            edges(&module, &text, out);
        }
    }
}

#[test]
fn no_module_reaches_up_and_the_pure_stages_do_no_io() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut all = BTreeSet::new();
    walk(&root, &root, &mut all);
    assert!(
        all.iter().any(|(m, to)| m == "plan" && to == "model"),
        "the scan found no edges: {all:?}"
    );
    let mut wrong: BTreeSet<(String, String)> = BTreeSet::new();
    for (module, to) in &all {
        if module == to {
            continue;
        }
        let upward = !ABOVE.contains(&module.as_str()) && ABOVE.contains(&to.as_str());
        let io_in_pure = PURE.contains(&module.as_str())
            && (IO.contains(&to.as_str())
                || IO_PATHS.iter().any(|p| p.trim_end_matches("::") == to));
        if upward || io_in_pure {
            wrong.insert((module.clone(), to.clone()));
        }
    }
    let known: BTreeSet<(String, String)> = STILL_TO_REMOVE
        .iter()
        .map(|(a, b)| (a.to_string(), b.to_string()))
        .collect();
    let new: Vec<_> = wrong.difference(&known).collect();
    let gone: Vec<_> = known.difference(&wrong).collect();
    assert!(new.is_empty(), "wrong-way dependencies: {new:?}");
    assert!(
        gone.is_empty(),
        "these edges are gone: remove them from STILL_TO_REMOVE: {gone:?}"
    );
}
