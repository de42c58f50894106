//! Platform timestamps (`2026-11-24T01:02:03.123456+00:00`, `…Z`, naive = UTC) and `--since` dates
//! (`2026-11-24` or a full timestamp) as Unix seconds, so items can be compared and shown in one form.

/// Parses `YYYY-MM-DD`, optionally followed by `T` or a space, `HH:MM[:SS[.frac]]` and `Z` or
/// `±HH:MM`/`±HHMM`. No offset means UTC. Returns Unix seconds.
pub fn parse(s: &str) -> Option<i64> {
    let s = s.trim();
    let b = s.as_bytes();
    if b.len() < 10 || b[4] != b'-' || b[7] != b'-' {
        return None;
    }
    let y: i64 = digits(&s[0..4])?;
    let mo: i64 = digits(&s[5..7])?;
    let d: i64 = digits(&s[8..10])?;
    if !(1..=12).contains(&mo) || !(1..=days_in_month(y, mo)).contains(&d) {
        return None;
    }
    let mut secs = days_from_civil(y, mo, d) * 86_400;
    let rest = &s[10..];
    if rest.is_empty() {
        return Some(secs);
    }
    let rest = rest.strip_prefix(['T', 't', ' '])?;
    if rest.len() < 5 || rest.as_bytes()[2] != b':' {
        return None;
    }
    let h: i64 = digits(&rest[0..2])?;
    let mi: i64 = digits(&rest[3..5])?;
    let mut rest = &rest[5..];
    let mut sec = 0;
    if let Some(r) = rest.strip_prefix(':') {
        if r.len() < 2 {
            return None;
        }
        sec = digits(&r[0..2])?;
        rest = &r[2..];
        if let Some(r) = rest.strip_prefix('.') {
            let n = r.bytes().take_while(u8::is_ascii_digit).count();
            if n == 0 {
                return None;
            }
            rest = &r[n..];
        }
    }
    if h > 23 || mi > 59 || sec > 60 {
        return None;
    }
    secs += h * 3600 + mi * 60 + sec;
    let offset = match rest {
        "" | "Z" | "z" => 0,
        o if o.starts_with(['+', '-']) => {
            let sign = if o.starts_with('-') { -1 } else { 1 };
            let o = o[1..].replace(':', "");
            if o.len() != 4 {
                return None;
            }
            let oh: i64 = digits(&o[0..2])?;
            let om: i64 = digits(&o[2..4])?;
            sign * (oh * 3600 + om * 60)
        }
        _ => return None,
    };
    Some(secs - offset)
}

fn digits(s: &str) -> Option<i64> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

fn days_in_month(y: i64, m: i64) -> i64 {
    match m {
        2 if (y % 4 == 0 && y % 100 != 0) || y % 400 == 0 => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Howard Hinnant's civil-to-days algorithm (the inverse of the one in `markers::time`).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// `2026-11-24 01:02 UTC`; `unknown` for times before 1970.
pub fn show(secs: Option<i64>) -> String {
    match secs {
        Some(s) if s >= 0 => {
            let t = markers::Timestamp(s as u64 * 1000).to_rfc3339();
            format!("{} {} UTC", &t[0..10], &t[11..16])
        }
        _ => "unknown".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_platform_forms() {
        let base = parse("2026-11-24T01:02:03Z").unwrap();
        assert_eq!(base, 1_795_482_123);
        assert_eq!(parse("2026-11-24T01:02:03.123456+00:00"), Some(base));
        assert_eq!(parse("2026-11-24 01:02:03.5"), Some(base));
        assert_eq!(parse("2026-11-24T03:02:03+02:00"), Some(base));
        assert_eq!(parse("2026-11-23T23:02:03-0200"), Some(base));
        assert_eq!(parse("2026-11-24"), Some(1_795_478_400));
        assert_eq!(parse("2000-02-29"), Some(951_782_400));
    }

    #[test]
    fn rejects_nonsense() {
        for s in [
            "",
            "yesterday",
            "2026-13-01",
            "2026-02-30",
            "2026-11-24T25:00",
            "2026-11-24T01:02:03+2",
            "2026-11-24X",
            "2026-11-24T01:02:03.Z",
        ] {
            assert_eq!(parse(s), None, "{s}");
        }
    }

    #[test]
    fn shows_minutes_in_utc() {
        assert_eq!(show(parse("2026-11-24T01:02:59Z")), "2026-11-24 01:02 UTC");
        assert_eq!(show(None), "unknown");
    }
}
