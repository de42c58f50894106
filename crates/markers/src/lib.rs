//! Per-project marker files and harness.toml config shared by the hooks and verify-deployment
