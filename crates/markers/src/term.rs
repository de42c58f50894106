//! Colour decisions shared by every CLI: colour only on a terminal, never when `NO_COLOR` is set.

/// True when output may be coloured: the stream is a TTY and `NO_COLOR` is unset or empty
/// (<https://no-color.org>).
pub fn color_enabled(is_tty: bool) -> bool {
    is_tty && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
}

/// Wraps `text` in an ANSI colour when `enabled`.
pub fn paint(enabled: bool, color: Color, text: &str) -> String {
    if !enabled {
        return text.to_string();
    }
    let code = match color {
        Color::Red => 31,
        Color::Green => 32,
        Color::Yellow => 33,
        Color::Dim => 2,
    };
    format!("\x1b[{code}m{text}\x1b[0m")
}

/// The few ANSI styles the CLIs use.
#[derive(Debug, Clone, Copy)]
pub enum Color {
    /// Failures.
    Red,
    /// Passes.
    Green,
    /// Warnings and skips.
    Yellow,
    /// Secondary detail.
    Dim,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paint_is_plain_when_disabled() {
        assert_eq!(paint(false, Color::Red, "x"), "x");
        assert_eq!(paint(true, Color::Green, "ok"), "\x1b[32mok\x1b[0m");
    }

    #[test]
    fn no_tty_means_no_colour() {
        assert!(!color_enabled(false));
    }
}
