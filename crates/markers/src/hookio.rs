//! Input handling shared by the Claude Code hooks: bounded stdin, and the event object.
//!
//! Both hooks must survive any stdin (empty, not JSON, not an object, oversized, non-UTF-8) without
//! breaking the session, so the checks live here once.

use serde_json::{Map, Value};

/// Larger stdin than this is refused (a hook event is a few KB; tool output is capped upstream).
pub const MAX_INPUT_BYTES: usize = 8 * 1024 * 1024;

/// Reads at most `MAX_INPUT_BYTES + 1` bytes (so oversize is detectable) and drains the rest, so the
/// writer never sees a broken pipe.
pub fn read_stdin_limited(mut r: impl std::io::Read) -> std::io::Result<Vec<u8>> {
    use std::io::Read;
    let mut buf = Vec::new();
    r.by_ref()
        .take(MAX_INPUT_BYTES as u64 + 1)
        .read_to_end(&mut buf)?;
    let _ = std::io::copy(&mut r, &mut std::io::sink());
    Ok(buf)
}

/// The event object, or a one-line reason why the input is not one.
pub fn parse_event(input: &[u8]) -> Result<Map<String, Value>, String> {
    if input.len() > MAX_INPUT_BYTES {
        return Err(format!("stdin is over the {MAX_INPUT_BYTES}-byte limit"));
    }
    if input.iter().all(u8::is_ascii_whitespace) {
        return Err("stdin is empty".into());
    }
    match serde_json::from_slice::<Value>(input) {
        Ok(Value::Object(o)) => Ok(o),
        Ok(_) => Err("stdin is JSON but not an object".into()),
        Err(e) => Err(format!("stdin is not valid JSON ({e})")),
    }
}

/// `line` with its control characters escaped (`\n` → `\\n`), so a diagnostic that quotes the
/// input (a `cd` target, a path) stays the one stderr line the hooks promise, and cannot move the
/// terminal's cursor.
pub fn one_line(line: &str) -> std::borrow::Cow<'_, str> {
    if !line.chars().any(char::is_control) {
        return line.into();
    }
    line.chars()
        .map(|c| match c {
            c if c.is_control() => c.escape_default().to_string(),
            c => c.to_string(),
        })
        .collect::<String>()
        .into()
}

/// What one hook invocation produced.
pub struct HookOutput {
    /// The JSON answer for Claude Code, if any.
    pub stdout: Option<String>,
    /// Lines for the user's terminal.
    pub stderr: Vec<String>,
}

/// The whole `main` of a hook binary: `--help`/`--version`, bounded stdin, the decision, output.
/// Always exits 0: a hook never breaks the session.
pub fn hook_main(
    name: &str,
    version: &str,
    help: &str,
    decide: impl FnOnce(&[u8]) -> HookOutput,
) -> std::process::ExitCode {
    use std::io::Write;
    if let Some(arg) = std::env::args().nth(1) {
        match arg.as_str() {
            "--version" | "-V" => println!("{name} {version}"),
            _ => println!("{help}"),
        }
        return crate::ExitStatus::Pass.into();
    }
    let input = match read_stdin_limited(std::io::stdin().lock()) {
        Ok(b) => b,
        Err(e) => {
            eprintln!("{name}: cannot read stdin: {e}");
            return crate::ExitStatus::Pass.into();
        }
    };
    let out = decide(&input);
    for line in &out.stderr {
        eprintln!("{}", one_line(line));
    }
    if let Some(json) = out.stdout {
        let _ = writeln!(std::io::stdout().lock(), "{json}");
    }
    crate::ExitStatus::Pass.into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rejects_each_kind_of_bad_input() {
        assert!(parse_event(b"").unwrap_err().contains("empty"));
        assert!(parse_event(b"  \n").unwrap_err().contains("empty"));
        assert!(parse_event(b"[1]").unwrap_err().contains("not an object"));
        assert!(
            parse_event(b"{\"a\":")
                .unwrap_err()
                .contains("not valid JSON")
        );
        assert!(
            parse_event(b"{\"a\":\"\xff\"}")
                .unwrap_err()
                .contains("not valid JSON")
        );
        let big = vec![b' '; MAX_INPUT_BYTES + 1];
        assert!(parse_event(&big).unwrap_err().contains("limit"));
        assert_eq!(parse_event(b"{\"a\":1}").unwrap()["a"], 1);
    }

    #[test]
    fn diagnostics_stay_on_one_line() {
        assert_eq!(one_line("plain ü 🚀"), "plain ü 🚀");
        assert_eq!(
            one_line("cd: a\nb\r\u{0}\u{1b}[2J: missing"),
            "cd: a\\nb\\r\\u{0}\\u{1b}[2J: missing"
        );
    }

    #[test]
    fn reads_at_most_one_byte_past_the_limit() {
        let data = vec![b'x'; MAX_INPUT_BYTES + 100];
        let got = read_stdin_limited(&data[..]).unwrap();
        assert_eq!(got.len(), MAX_INPUT_BYTES + 1);
    }
}
