//! GitHub Actions workflow runs for a commit (used by verify-deployment).
