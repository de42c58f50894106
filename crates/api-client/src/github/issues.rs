//! GitHub issues and comments (used by triage-bot).
