//! `wasmtier completions` and `wasmtier man`: generated from the same clap
//! definitions that parse the command line, so they never drift from it.

use std::io::Write;

use anyhow::{Context, Result, bail};
use clap::{Args, Command};
use clap_complete::Shell;

#[derive(Args)]
pub struct CompletionsArgs {
    /// The shell to write a completion script for.
    #[arg(value_enum)]
    shell: Shell,
}

#[derive(Args)]
pub struct ManArgs {
    /// A subcommand whose page to print (`run` gives wasmtier-run(1))
    /// [default: wasmtier(1), the overview].
    subcommand: Option<String>,
}

/// Prints the completion script for `args.shell` to stdout.
pub fn completions(args: CompletionsArgs, mut command: Command) -> Result<()> {
    let name = command.get_name().to_string();
    let mut out = Vec::new();
    clap_complete::generate(args.shell, &mut command, name, &mut out);
    std::io::stdout()
        .write_all(&out)
        .context("cannot write the completion script")
}

/// Prints a man page in roff to stdout.
pub fn man(args: ManArgs, command: Command) -> Result<()> {
    let command = match &args.subcommand {
        None => command,
        Some(name) => {
            let Some(sub) = command.find_subcommand(name) else {
                let known: Vec<&str> = command
                    .get_subcommands()
                    .map(|c| c.get_name())
                    .filter(|&n| n != "help")
                    .collect();
                bail!("no subcommand `{name}` (man pages: {})", known.join(", "));
            };
            // The page is named after the full command, `wasmtier-run`.
            let full = format!("{}-{}", command.get_name(), sub.get_name());
            sub.clone()
                .name(full)
                .version(command.get_version().unwrap_or_default().to_string())
        }
    };
    let mut out = Vec::new();
    clap_mangen::Man::new(command)
        .render(&mut out)
        .context("cannot render the man page")?;
    std::io::stdout()
        .write_all(&out)
        .context("cannot write the man page")
}
