//! Logfire HTTP query API client (used by verify-deployment).
