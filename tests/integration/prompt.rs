//! The confirmation prompt, driven in-process with a stdin that counts as a terminal (the test
//! runner has none to give the real binary).

use std::io::Cursor;

use crate::harness::*;
use reconcile::run::{Error, Exit};

const ALLOWED: &[&str] = &[
    "alice@example.com",
    "bob.martin@example.com",
    "frank@example.com",
];

fn apply_answering(w: &World, answer: &str) -> (Result<Exit, Error>, String, String) {
    let file = w.allowlist(ALLOWED);
    let mut stdin = Cursor::new(answer.as_bytes().to_vec());
    run_on_a_terminal(w, &["apply", "-f", file.to_str().unwrap()], &mut stdin)
}

#[test]
fn yes_deletes_the_planned_users() {
    let w = World::demo();
    let (result, stdout, prompt) = apply_answering(&w, "yes\n");
    assert_eq!(result.unwrap(), Exit::Success);
    assert!(
        prompt.contains(
            "Do you want to delete these 3 users? Only 'yes' will be accepted to approve."
        ),
        "{prompt}"
    );
    assert!(stdout.contains("Apply complete: 3 deleted"), "{stdout}");
    assert_eq!(w.deletes(), 3);
}

#[test]
fn a_plan_a_person_confirmed_is_rechecked_on_a_second_listing() {
    // One listing's worth of requests, as `plan` makes them on the same account.
    let once = gets_of_one_plan(ALLOWED);
    let w = World::demo();
    let (result, _, _) = apply_answering(&w, "yes\n");
    assert_eq!(result.unwrap(), Exit::Success);
    // The time at the prompt is when the account may change: it is listed again before any
    // deletion (and once more after them, for the final check).
    assert_eq!(w.gets(), 3 * once);
}

#[test]
fn anything_but_yes_cancels_and_deletes_nothing() {
    for answer in ["no\n", "y\n", "YES\n", "yes please\n", ""] {
        let w = World::demo();
        let (result, stdout, prompt) = apply_answering(&w, answer);
        assert!(
            matches!(result, Err(Error::Declined)),
            "{answer:?}: {result:?}"
        );
        assert!(prompt.contains("Enter a value:"), "{prompt}");
        assert!(stdout.contains("Plan: 3 to delete"), "{stdout}");
        assert!(!stdout.contains("Apply"), "{stdout}");
        assert_eq!(w.deletes(), 0, "{answer:?}");
    }
}
