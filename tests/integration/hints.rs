//! Mistakes a newcomer makes, and the hint that points the right way: desired state given where a
//! saved plan or no argument goes, no files at all, files found without `-f`, a tab in the YAML,
//! a base URL that cannot be the API's. Each is caught before any request.

use crate::harness::*;

/// The first line that `main` printed as an error.
fn error_line(r: &Run) -> &str {
    r.stderr
        .lines()
        .find(|l| l.starts_with("error:"))
        .unwrap_or_else(|| panic!("no error line: {r:?}"))
}

#[test]
fn apply_with_a_desired_state_file_says_use_dash_f_and_sends_nothing() {
    let w = World::demo();
    let file = w.allowlist(&["alice@example.com"]);
    let f = file.to_str().unwrap();
    let r = w.run(&["apply", f]);
    assert_eq!(r.code, 1, "{r:?}");
    assert_eq!(
        error_line(&r),
        format!("error: {f} is a desired-state file, not a saved plan: use -f {f}")
    );
    assert_eq!(w.requests(), 0, "{r:?}");
}

#[test]
fn plan_with_a_desired_state_file_says_use_dash_f_not_unexpected_argument() {
    let w = World::demo();
    let file = w.allowlist(&["alice@example.com"]);
    let f = file.to_str().unwrap();
    for command in ["plan", "validate"] {
        let r = w.run(&[command, f]);
        assert_eq!(r.code, 1, "{r:?}");
        assert_eq!(
            error_line(&r),
            format!("error: {f} is a desired-state file: use -f {f}")
        );
        assert!(!r.stderr.contains("unexpected argument"), "{r:?}");
        assert!(
            r.stderr
                .contains(&format!("Usage: reconcile {command} -f <PATH>...")),
            "{r:?}"
        );
    }
    assert_eq!(w.requests(), 0);
}

#[test]
fn plan_without_files_is_a_usage_error_without_an_invented_position() {
    let w = World::demo();
    let mut cmd = w.cmd(&["plan"]);
    cmd.current_dir(w.dir.path());
    let r = run(cmd);
    assert_eq!(r.code, 1, "{r:?}");
    assert!(
        error_line(&r).starts_with("error: no desired-state file: pass -f FILE or -f DIRECTORY"),
        "{r:?}"
    );
    assert!(r.stderr.contains("RECONCILE_FILES"), "{r:?}");
    assert!(
        r.stderr
            .contains("\nUsage: reconcile plan -f <PATH>... [OPTIONS]\n"),
        "{r:?}"
    );
    assert!(!r.stderr.contains("<command line>"), "{r:?}");
    assert!(!r.stderr.contains(":1:1"), "{r:?}");
    assert_eq!(w.requests(), 0);
}

#[test]
fn files_are_found_in_the_working_directory_and_said() {
    let w = World::demo();
    let desired = w.dir.path().join("desired");
    std::fs::create_dir(&desired).unwrap();
    std::fs::write(
        desired.join("users.yaml"),
        format!("account_id: {ACCOUNT}\nusers:\n  - alice@example.com\n"),
    )
    .unwrap();
    let mut cmd = w.cmd(&["plan"]);
    cmd.current_dir(w.dir.path());
    let r = run(cmd);
    assert_eq!(r.code, 0, "{r:?}");
    assert!(
        r.stderr
            .contains("no -f given: reading the desired state from ./desired/ (found in the working directory)"),
        "{r:?}"
    );
    assert!(r.stdout.contains("carol@example.com"), "{r:?}");

    // reconcile.yaml, for validate.
    std::fs::remove_dir_all(&desired).unwrap();
    std::fs::write(
        w.dir.path().join("reconcile.yaml"),
        format!("account_id: {ACCOUNT}\nusers:\n  - alice@example.com\n"),
    )
    .unwrap();
    let mut cmd = bare(&["validate"]);
    cmd.current_dir(w.dir.path());
    let r = run(cmd);
    assert_eq!(r.code, 0, "{r:?}");
    assert!(r.stderr.contains("./reconcile.yaml (found"), "{r:?}");
}

#[test]
fn reconcile_files_names_the_files_as_path_does() {
    let w = World::demo();
    let a = w.file(
        "a.yaml",
        &format!("account_id: {ACCOUNT}\nusers:\n  - alice@example.com\n"),
    );
    let b = w.file("b.yaml", "users:\n  - bob.martin@example.com\n");
    let list = std::env::join_paths([&a, &b]).unwrap();
    let mut cmd = w.cmd(&["plan"]);
    cmd.env("RECONCILE_FILES", &list).current_dir(w.dir.path());
    let r = run(cmd);
    assert_eq!(r.code, 0, "{r:?}");
    assert!(
        r.stderr
            .contains("no -f given: reading the desired state from RECONCILE_FILES"),
        "{r:?}"
    );
    // Both files were read: bob is kept, not planned for deletion.
    assert!(!r.stdout.contains("- bob.martin@example.com"), "{r:?}");
    // -f wins over the variable.
    let mut cmd = bare(&["validate", "-f", a.to_str().unwrap()]);
    cmd.env("RECONCILE_FILES", "/nonexistent.yaml");
    let r = run(cmd);
    assert_eq!(r.code, 0, "{r:?}");
    assert!(!r.stderr.contains("no -f given"), "{r:?}");
}

#[test]
fn a_tab_in_the_indentation_says_indent_with_spaces_at_its_line() {
    let w = World::demo();
    let file = w.file(
        "tabs.yaml",
        &format!("account_id: {ACCOUNT}\nusers:\n\t- alice@example.com\n"),
    );
    let r = run(bare(&["validate", "-f", file.to_str().unwrap()]));
    assert_eq!(r.code, 1, "{r:?}");
    assert!(r.stderr.contains("tabs.yaml:3:"), "{r:?}");
    assert!(
        r.stderr
            .contains("help: indent with spaces: line 3 is indented with a tab"),
        "{r:?}"
    );
}

#[test]
fn a_base_url_without_scheme_or_path_says_what_it_should_look_like_and_sends_nothing() {
    let w = World::demo();
    let file = w.allowlist(&["alice@example.com"]);
    let base = w.sandbox.base_url();
    let no_scheme = base.trim_start_matches("http://").to_string();
    let no_path = base.trim_end_matches("/client/v4").to_string();
    for (url, why) in [
        (no_scheme.as_str(), "it has no scheme (https://)"),
        (no_path.as_str(), "it has no path: /client/v4 is missing"),
    ] {
        let mut cmd = w.cmd(&["plan", "-f", file.to_str().unwrap()]);
        cmd.env("CLOUDFLARE_BASE_URL", url);
        let r = run(cmd);
        assert_eq!(r.code, 1, "{r:?}");
        assert!(error_line(&r).contains(why), "{r:?}");
        assert!(
            r.stderr
                .contains("must end in /client/v4, like https://api.cloudflare.com/client/v4"),
            "{r:?}"
        );
        // Nothing went out, so nothing is said about what a request did.
        assert!(!r.stderr.contains("by this request"), "{r:?}");
        assert!(r.stderr.contains("nothing was sent"), "{r:?}");
    }
    assert_eq!(w.requests(), 0);
}

#[test]
fn nothing_was_deleted_by_this_request_only_after_a_request() {
    let w = World::demo();
    let file = w.allowlist(&["alice@example.com"]);
    // A request that went out and failed: the sentence is there.
    let mut cmd = w.cmd(&["plan", "-f", file.to_str().unwrap()]);
    cmd.env("CLOUDFLARE_API_TOKEN", "wrong-token-Zq8XbK2v");
    let r = run(cmd);
    assert_eq!(r.code, 1, "{r:?}");
    assert!(
        r.stderr.contains("nothing was deleted by this request"),
        "{r:?}"
    );
    // Credentials that cannot go in a header are refused before sending: it is not.
    let before = w.requests();
    let mut cmd = w.cmd(&["plan", "-f", file.to_str().unwrap()]);
    cmd.env("CLOUDFLARE_API_TOKEN", "bad\u{1}token");
    let r = run(cmd);
    assert_eq!(r.code, 1, "{r:?}");
    assert!(r.stderr.contains("nothing was sent"), "{r:?}");
    assert!(!r.stderr.contains("by this request"), "{r:?}");
    assert_eq!(w.requests(), before);
}
