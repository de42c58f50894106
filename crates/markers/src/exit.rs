//! The one exit-status vocabulary every binary of the harness uses.
//!
//! Every CLI documents the same three outcomes in its `--help`: 0 when the job passed, 1 when it
//! found what it looks for (a violation, a failed check, a new finding), 2 when it could not do the
//! job at all (bad usage, missing or broken configuration, an unreachable target). Keeping them in
//! one enum stops the binaries from drifting apart on what "2" means.

/// How a harness binary ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum ExitStatus {
    /// 0: the job ran and found nothing wrong.
    Pass = 0,
    /// 1: the job ran and found something (a violation, a failed check, a new finding).
    Fail = 1,
    /// 2: the job could not run: usage, configuration or infrastructure (never a finding).
    Error = 2,
}

impl ExitStatus {
    /// The process exit code.
    pub const fn code(self) -> u8 {
        self as u8
    }

    /// `Pass` when `ok`, else `Fail`.
    pub const fn pass_if(ok: bool) -> Self {
        if ok { Self::Pass } else { Self::Fail }
    }
}

impl From<ExitStatus> for u8 {
    fn from(status: ExitStatus) -> u8 {
        status.code()
    }
}

impl From<ExitStatus> for std::process::ExitCode {
    fn from(status: ExitStatus) -> Self {
        std::process::ExitCode::from(status.code())
    }
}

#[cfg(test)]
mod tests {
    use super::ExitStatus;

    #[test]
    fn codes_are_the_documented_ones() {
        assert_eq!(ExitStatus::Pass.code(), 0);
        assert_eq!(ExitStatus::Fail.code(), 1);
        assert_eq!(ExitStatus::Error.code(), 2);
        assert_eq!(ExitStatus::pass_if(true), ExitStatus::Pass);
        assert_eq!(ExitStatus::pass_if(false), ExitStatus::Fail);
    }
}
