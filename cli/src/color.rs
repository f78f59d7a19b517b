//! Whether to colour a stream: `--color always|never` decide alone; `auto` colours a
//! terminal unless `NO_COLOR` is set to anything but the empty string (no-color.org).

use std::io::IsTerminal;

use crate::args::ColorChoice;

pub(crate) fn enabled(choice: ColorChoice, stream: &impl IsTerminal) -> bool {
    match choice {
        ColorChoice::Always => true,
        ColorChoice::Never => false,
        ColorChoice::Auto => {
            let no_color = std::env::var_os("NO_COLOR").is_some_and(|value| !value.is_empty());
            !no_color && stream.is_terminal()
        }
    }
}
