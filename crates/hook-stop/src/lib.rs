//! Claude Code Stop hook: blocks ending the session while a deploy is unverified
