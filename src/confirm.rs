//! The confirmation prompt: a question on one writer (stderr), an answer from one reader (stdin),
//! and only `yes` approves. It never decides whether to ask (that is `--auto-approve` and whether
//! stdin is a terminal, settled by the command).

use std::io::{self, BufRead, Write};

/// Ask whether to delete `n` users; `true` only for the answer `yes`.
pub(crate) fn delete_users(
    n: usize,
    prompt: &mut (dyn Write + Send),
    answer: &mut (dyn BufRead + Send),
) -> io::Result<bool> {
    write!(
        prompt,
        "\nDo you want to delete these {n} users? Only 'yes' will be accepted to approve.\n  Enter a value: "
    )?;
    prompt.flush()?;
    let mut line = String::new();
    answer.read_line(&mut line)?;
    Ok(line.trim() == "yes")
}

/// Ask whether to do `what` (after "Do you want to", as "make 2 changes to the door, then
/// delete 3 users"); `true` only for the answer `yes`.
pub(crate) fn ask(
    what: &str,
    prompt: &mut (dyn Write + Send),
    answer: &mut (dyn BufRead + Send),
) -> io::Result<bool> {
    write!(
        prompt,
        "\nDo you want to {what}? Only 'yes' will be accepted to approve.\n  Enter a value: "
    )?;
    prompt.flush()?;
    let mut line = String::new();
    answer.read_line(&mut line)?;
    Ok(line.trim() == "yes")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ask(input: &str) -> (bool, String) {
        let mut prompt = Vec::new();
        let mut reader = io::Cursor::new(input.as_bytes().to_vec());
        let yes = delete_users(3, &mut prompt, &mut reader).unwrap();
        (yes, String::from_utf8(prompt).unwrap())
    }

    #[test]
    fn only_yes_approves() {
        assert!(ask("yes\n").0);
        assert!(ask("  yes  \n").0);
        for no in ["", "\n", "y\n", "YES\n", "yes please\n", "no\n"] {
            assert!(!ask(no).0, "{no:?}");
        }
        assert!(ask("yes\n").1.contains("delete these 3 users"));
    }
}
