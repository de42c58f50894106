//! Shortening text for messages without splitting a UTF-8 character.

use std::borrow::Cow;

/// `s` cut to at most `max_bytes` bytes (on a character boundary) with `…` appended when anything
/// was cut; `s` itself when it fits.
pub fn ellipsize(s: &str, max_bytes: usize) -> Cow<'_, str> {
    if s.len() <= max_bytes {
        Cow::Borrowed(s)
    } else {
        Cow::Owned(format!("{}…", &s[..s.floor_char_boundary(max_bytes)]))
    }
}

#[cfg(test)]
mod tests {
    use super::ellipsize;

    #[test]
    fn cuts_on_a_character_boundary() {
        assert_eq!(ellipsize("short", 5), "short");
        assert_eq!(ellipsize("abcdef", 3), "abc…");
        // "é" is two bytes: a cut in its middle backs off to before it
        assert_eq!(ellipsize("aé", 2), "a…");
        assert_eq!(ellipsize("ééé", 0), "…");
    }
}
