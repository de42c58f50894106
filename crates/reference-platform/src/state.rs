//! What every handler shares: the database, the switched-on bugs and the platform's options.

use crate::bug::Bug;
use crate::db::Db;
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
}
