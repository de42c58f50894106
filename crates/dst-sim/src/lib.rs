//! Deterministic simulation testing of the platform's game rules
