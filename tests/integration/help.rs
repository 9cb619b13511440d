//! `--help` of every command: each shows an example, and a snapshot keeps the text reviewed.

use crate::harness::*;

const COMMANDS: &[&[&str]] = &[
    &[],
    &["plan"],
    &["apply"],
    &["validate"],
    &["explain"],
    &["export"],
    &["schema"],
    &["completions"],
    &["man"],
    &["demo"],
    &["sandbox"],
    &["check"],
    &["audit"],
    &["audit", "verify"],
];

#[test]
fn every_command_has_help_with_an_example() {
    for command in COMMANDS {
        let mut args: Vec<&str> = command.to_vec();
        args.push("--help");
        let r = run(bare(&args));
        assert_eq!(r.code, 0, "{args:?}: {r:?}");
        assert!(
            r.stdout.contains("Example"),
            "{args:?} shows no example:\n{}",
            r.stdout
        );
        let name = if command.is_empty() {
            "help".to_string()
        } else {
            format!("help_{}", command.join("_"))
        };
        insta::assert_snapshot!(name, r.stdout);
    }
}
