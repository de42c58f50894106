//! Turns open platform feedback into a prioritized GitHub issue
