//! What every handler shares: the database, the switched-on bugs and the platform's options.

use crate::bug::Bug;
use crate::db::Db;
use crate::error::{ApiError, agent_error};
use std::collections::BTreeSet;

pub(crate) struct AppState {
    pub db: Db,
    pub bugs: BTreeSet<Bug>,
    pub admin_key_hash: String,
    pub test_mode: bool,
    pub commit: Option<String>,
}

impl AppState {
    /// Whether planted bug `b` is switched on.
    pub fn bug(&self, b: Bug) -> bool {
        self.bugs.contains(&b)
    }

    /// The test-approve routes' gate: 403 unless the platform runs in test mode.
    pub fn require_test_mode(&self) -> Result<(), ApiError> {
        if self.test_mode {
            return Ok(());
        }
        Err(agent_error(
            403,
            "Test mode is disabled",
            "Start the platform with test mode on.",
            serde_json::json!({}),
        ))
    }
}
