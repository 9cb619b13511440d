//! Shell completions and the manual page, generated from the clap definitions.

use super::args::Cli;
/// The shell completion script for `shell`.
pub fn completions(shell: clap_complete::Shell, out: &mut dyn std::io::Write) {
    let mut command = <Cli as clap::CommandFactory>::command();
    clap_complete::generate(shell, &mut command, "reconcile", out);
}

/// The manual page, in roff: the main page, then a section for each command with its options
/// and example.
pub fn man_page(out: &mut dyn std::io::Write) -> std::io::Result<()> {
    let command = <Cli as clap::CommandFactory>::command();
    clap_mangen::Man::new(command.clone()).render(out)?;
    for sub in command.get_subcommands() {
        let name = sub.get_name().to_uppercase();
        writeln!(out, ".SH \"RECONCILE {name}\"")?;
        if let Some(about) = sub.get_about() {
            writeln!(out, "{}", about.to_string().replace('\\', "\\\\"))?;
        }
        let man = clap_mangen::Man::new(sub.clone());
        let mut options = Vec::new();
        man.render_options_section(&mut options)?;
        // Demote the options heading so it sits under the command's section.
        let options = String::from_utf8_lossy(&options).replacen(".SH OPTIONS", ".SS Options", 1);
        out.write_all(options.as_bytes())?;
        if let Some(after) = sub.get_after_help() {
            writeln!(
                out,
                ".SS Example\n.nf\n{}\n.fi",
                after.to_string().replace('\\', "\\\\")
            )?;
        }
    }
    Ok(())
}
