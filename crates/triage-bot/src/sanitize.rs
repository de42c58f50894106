//! Untrusted text → text that is safe to quote in a GitHub issue a fixing agent will read.
//!
//! Feedback is written by outside agents. Before any of it is shown, [`clean`]:
//! - turns `\r\n` and lone `\r` into `\n`, tabs into spaces;
//! - drops control characters (except `\n`), zero-width and bidi-override characters, the soft
//!   hyphen and the invisible Unicode "tag" characters (U+E0000–U+E007F, used to smuggle hidden
//!   instructions to models);
//! - strips HTML comments (`<!-- … -->`, and an unterminated `<!--` to the end), repeatedly, so the
//!   removal cannot assemble a new one; hidden comments are where instructions and forged
//!   fingerprints would hide;
//! - replaces every `@` with `＠` (U+FF20) so no mention pings anyone, even outside a code block;
//! - shortens runs of more than 8 backticks, keeps at most [`MAX_LINES`] lines and `max_chars`
//!   characters, saying how much was cut.
//!
//! [`fence`] then quotes it in a fenced code block whose fence is longer than any backtick run in
//! the text, so nothing inside can close it: the text cannot add a heading, a label command, a link
//! or a line of its own to the issue.

/// Most characters of a feedback title that are quoted.
pub const MAX_TITLE_CHARS: usize = 200;
/// Most characters of a feedback description that are quoted.
pub const MAX_TEXT_CHARS: usize = 2000;
/// Most lines of one quoted text.
pub const MAX_LINES: usize = 40;
/// Longest backtick run kept (longer runs are shortened to this).
const MAX_BACKTICK_RUN: usize = 8;

/// True for characters that are invisible or reorder text and so can hide content from a reader.
pub fn is_invisible(c: char) -> bool {
    matches!(c,
        '\u{00AD}' | '\u{034F}' | '\u{061C}' | '\u{115F}' | '\u{1160}' | '\u{17B4}' | '\u{17B5}'
        | '\u{180B}'..='\u{180F}'
        | '\u{200B}'..='\u{200F}'
        | '\u{202A}'..='\u{202E}'
        | '\u{2060}'..='\u{206F}'
        | '\u{3164}' | '\u{FEFF}' | '\u{FFA0}'
        | '\u{FFF9}'..='\u{FFFB}'
        | '\u{1D173}'..='\u{1D17A}'
        | '\u{E0000}'..='\u{E007F}')
}

/// Cleans untrusted text for quoting (see the module docs). `max_chars` counts characters.
pub fn clean(input: &str, max_chars: usize) -> String {
    // 1. line endings, tabs, control and invisible characters
    let mut s = String::with_capacity(input.len().min(max_chars * 4 + 16));
    let mut chars = input.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\r' => {
                if chars.peek() != Some(&'\n') {
                    s.push('\n');
                }
            }
            '\n' => s.push('\n'),
            '\t' => s.push(' '),
            c if c.is_control() || is_invisible(c) => {}
            c => s.push(c),
        }
    }
    // 2. HTML comments, until none is left (removing one may join `<!` and `--` into a new one)
    for _ in 0..64 {
        let stripped = strip_html_comments(&s);
        if stripped == s {
            break;
        }
        s = stripped;
    }
    // 3. mentions
    let s = s.replace('@', "\u{FF20}");
    // 4. long backtick runs
    let s = shorten_backtick_runs(&s, MAX_BACKTICK_RUN);
    // 5. caps: lines, then characters
    let trimmed = s.trim_matches('\n');
    let lines: Vec<&str> = trimmed.lines().collect();
    let mut out = if lines.len() > MAX_LINES {
        let mut t = lines[..MAX_LINES].join("\n");
        t.push_str(&format!("\n[… {} more lines cut]", lines.len() - MAX_LINES));
        t
    } else {
        trimmed.to_string()
    };
    let n = out.chars().count();
    if n > max_chars {
        out = out.chars().take(max_chars).collect();
        out.push_str(&format!("[… {} more characters cut]", n - max_chars));
    }
    out
}

/// Cleans and flattens to one line (for one-line fields such as a title or a model's sentence).
pub fn clean_line(input: &str, max_chars: usize) -> String {
    let flat: String = input
        .chars()
        .map(|c| if c == '\n' || c == '\r' { ' ' } else { c })
        .collect();
    clean(&flat, max_chars)
}

fn strip_html_comments(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(start) = rest.find("<!--") {
        out.push_str(&rest[..start]);
        match rest[start + 4..].find("-->") {
            Some(end) => rest = &rest[start + 4 + end + 3..],
            None => return out,
        }
    }
    out.push_str(rest);
    out
}

fn shorten_backtick_runs(s: &str, max: usize) -> String {
    let mut out = String::with_capacity(s.len());
    let mut run = 0;
    for c in s.chars() {
        if c == '`' {
            run += 1;
            if run > max {
                continue;
            }
        } else {
            run = 0;
        }
        out.push(c);
    }
    out
}

/// Longest run of `c` in `s`.
fn longest_run(s: &str, c: char) -> usize {
    let (mut best, mut cur) = (0, 0);
    for ch in s.chars() {
        if ch == c {
            cur += 1;
            best = best.max(cur);
        } else {
            cur = 0;
        }
    }
    best
}

/// Quotes already-cleaned text in a fenced code block no line of it can close. The block starts
/// and ends on its own line at the left margin (never inside a list or a block quote, where lazy
/// continuation could end it early).
pub fn fence(cleaned: &str) -> String {
    let ticks = "`".repeat(longest_run(cleaned, '`').max(2) + 1);
    format!("{ticks}text\n{cleaned}\n{ticks}\n")
}

/// Keeps only `[A-Za-z0-9._:-]` (at most `max` characters); for identifiers and enum-like values
/// from the platform (ids, priorities, categories) shown outside a code block.
pub fn token(s: &str, max: usize) -> String {
    let t: String = s
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | ':' | '-'))
        .take(max)
        .collect();
    if t.is_empty() { "?".into() } else { t }
}

/// Replaces every occurrence of each secret (longer than 3 characters) with `<redacted>`.
pub fn redact(text: &str, secrets: &[String]) -> String {
    let mut out = text.to_string();
    for s in secrets {
        if s.len() > 3 {
            out = out.replace(s.as_str(), "<redacted>");
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strips_comments_invisibles_and_controls() {
        let s = clean(
            "a<!-- hidden -->b\u{200B}c\u{202E}d\u{E0041}\u{7}e\r\nf<!-- open",
            100,
        );
        assert_eq!(s, "abcde\nf");
    }

    #[test]
    fn removal_cannot_assemble_a_new_comment() {
        let s = clean("<!<!-- x -->-- still hidden? -->visible", 100);
        assert!(!s.contains("<!--"), "{s}");
        assert_eq!(s, "visible");
    }

    #[test]
    fn mentions_are_neutralised() {
        let s = clean("ping @octocat and @org/team", 100);
        assert!(!s.contains('@'));
        assert!(s.contains("＠octocat"));
    }

    #[test]
    fn caps_characters_and_lines() {
        let s = clean(&"x".repeat(5000), 100);
        assert!(s.starts_with(&"x".repeat(100)));
        assert!(s.contains("4900 more characters cut"));
        let many: String = (0..100).map(|i| format!("line {i}\n")).collect();
        let s = clean(&many, 100_000);
        assert_eq!(s.lines().count(), MAX_LINES + 1);
        assert!(s.ends_with("[… 60 more lines cut]"));
    }

    #[test]
    fn fence_is_longer_than_any_backtick_run() {
        let text = clean("a ``````` b\n````\n", 1000);
        let f = fence(&text);
        let opener = f.lines().next().unwrap();
        assert_eq!(opener, "````````text");
        assert!(f.ends_with("\n````````\n"));
        // backtick runs past 8 are shortened, so the fence stays small
        let text = clean(&"`".repeat(500), 1000);
        assert_eq!(text.len(), MAX_BACKTICK_RUN);
    }

    #[test]
    fn token_keeps_a_safe_charset() {
        assert_eq!(token("crit<b>ical\n", 20), "critbical");
        assert_eq!(token("", 5), "?");
        assert_eq!(token("0f8e-12ab", 4), "0f8e");
    }

    #[test]
    fn redact_hides_secrets() {
        assert_eq!(
            redact("token ghp_abc123 leaked", &["ghp_abc123".into()]),
            "token <redacted> leaked"
        );
    }
}
