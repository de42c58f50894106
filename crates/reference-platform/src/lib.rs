//! `reference-platform`: our own implementation of the Deep Sci-Fi game-rule API on embedded SQLite.
//!
//! Same paths, fields, status codes and error shapes as the real platform for everything
//! `api-client` covers (agents, proposals and the critical-review flow, worlds, regions, dwellers and
//! the two-phase act, platform feedback, health), so dst-sim and the tests have a fast, local,
//! deterministic-to-start target. Each [`Bug`] plants one real failure of the platform behind a switch
//! and changes only the code path it names.
//!
//! Storage is one in-process SQLite connection (bundled, WAL for file databases) behind a mutex:
//! every handler's reads and writes run in one real transaction, which is what makes the correct
//! platform correct under concurrency. Planted race bugs deliberately split check and write into two
//! transactions with an `await` between them, so concurrent requests really interleave.

mod api;
mod api_stories;
mod db;
mod error;
mod faults;
mod idempotency;
mod validate;

pub use db::DbLocation;

use std::collections::BTreeSet;
use std::net::SocketAddr;
use std::sync::Arc;

/// A planted bug: each mirrors a real failure of the platform (see `docs/reference-platform.md`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Bug {
    /// Claim checks availability and writes the holder in separate transactions, yielding between.
    ClaimRace,
    /// The final resolve checks "can graduate" and creates the world in separate transactions.
    GraduationRace,
    /// Upvote reads the count, yields, and writes count+1 (the upvoter row is still added).
    UpvoteLostUpdate,
    /// The "already upvoted" check is skipped.
    DoubleUpvote,
    /// The "cannot upvote own feedback" check is skipped.
    SelfUpvote,
    /// The "cannot review your own proposal" check is skipped.
    SelfReview,
    /// The feedback status graph lets terminal states move again.
    FeedbackStatusBackwards,
    /// Feedback titles over 100 characters fail with a 500, as a too-narrow column would.
    LongText500,
    /// Graduation leaves the approved proposal's `resulting_world_id` null.
    WorldBacklinkNull,
    /// The story-review self-review guard reads the owner field proposals and aspects have
    /// (`agent_id`), which stories lack (`author_id`): authors can review their own story.
    StorySelfReview,
    /// Acclaim eligibility skips the "revised at least once" condition.
    AcclaimWithoutRevision,
    /// Respond reads the story's reviews, yields, then writes and decides acclaim on the stale
    /// read: two concurrent final responses each miss the other's, and the story is never acclaimed.
    AcclaimRace,
    /// Approve/reject skip the "must be pending" check: a decided event can be decided again.
    EventDoubleDecision,
    /// Approve skips the "not your own event" check.
    EventSelfApproval,
    /// Approve/reject check "pending" and write the decision in separate transactions.
    EventDecisionRace,
    /// Revise accepts an approved aspect and drops it back to validating.
    AspectStatusBackwards,
    /// Story create skips the world check: a story can point at a world that does not exist.
    StoryOrphanWorld,
}

impl Bug {
    pub const ALL: &'static [Bug] = &[
        Bug::ClaimRace,
        Bug::GraduationRace,
        Bug::UpvoteLostUpdate,
        Bug::DoubleUpvote,
        Bug::SelfUpvote,
        Bug::SelfReview,
        Bug::FeedbackStatusBackwards,
        Bug::LongText500,
        Bug::WorldBacklinkNull,
        Bug::StorySelfReview,
        Bug::AcclaimWithoutRevision,
        Bug::AcclaimRace,
        Bug::EventDoubleDecision,
        Bug::EventSelfApproval,
        Bug::EventDecisionRace,
        Bug::AspectStatusBackwards,
        Bug::StoryOrphanWorld,
    ];

    pub fn all() -> &'static [Bug] {
        Self::ALL
    }

    pub fn name(&self) -> &'static str {
        match self {
            Bug::ClaimRace => "claim-race",
            Bug::GraduationRace => "graduation-race",
            Bug::UpvoteLostUpdate => "upvote-lost-update",
            Bug::DoubleUpvote => "double-upvote",
            Bug::SelfUpvote => "self-upvote",
            Bug::SelfReview => "self-review",
            Bug::FeedbackStatusBackwards => "feedback-status-backwards",
            Bug::LongText500 => "long-text-500",
            Bug::WorldBacklinkNull => "world-backlink-null",
            Bug::StorySelfReview => "story-self-review",
            Bug::AcclaimWithoutRevision => "acclaim-without-revision",
            Bug::AcclaimRace => "acclaim-race",
            Bug::EventDoubleDecision => "event-double-decision",
            Bug::EventSelfApproval => "event-self-approval",
            Bug::EventDecisionRace => "event-decision-race",
            Bug::AspectStatusBackwards => "aspect-status-backwards",
            Bug::StoryOrphanWorld => "story-orphan-world",
        }
    }

    pub fn from_name(s: &str) -> Option<Bug> {
        Self::ALL.iter().copied().find(|b| b.name() == s)
    }

    pub fn description(&self) -> &'static str {
        match self {
            Bug::ClaimRace => {
                "two concurrent claims of one dweller can both succeed (check-then-write, no lock)"
            }
            Bug::GraduationRace => {
                "two concurrent final resolves create two worlds for one proposal"
            }
            Bug::UpvoteLostUpdate => {
                "concurrent upvotes lose increments (read-modify-write of the count)"
            }
            Bug::DoubleUpvote => "the same agent can upvote one feedback twice",
            Bug::SelfUpvote => "an agent can upvote its own feedback",
            Bug::SelfReview => "a proposer can review its own proposal",
            Bug::FeedbackStatusBackwards => "resolved / wont_fix feedback can change status again",
            Bug::LongText500 => {
                "a feedback title over 100 characters gives a 500 (column narrower than the API)"
            }
            Bug::WorldBacklinkNull => "an approved proposal's resulting_world_id stays null",
            Bug::StorySelfReview => {
                "an author can review its own story (the guard checks agent_id; stories have author_id)"
            }
            Bug::AcclaimWithoutRevision => {
                "a story is acclaimed without any revision (eligibility skips revision_count)"
            }
            Bug::AcclaimRace => {
                "two concurrent final review responses leave an eligible story unacclaimed"
            }
            Bug::EventDoubleDecision => {
                "an approved or rejected world event can be approved or rejected again"
            }
            Bug::EventSelfApproval => "the proposer of a world event can approve it",
            Bug::EventDecisionRace => {
                "a concurrent approve and reject of one event both succeed (check-then-write)"
            }
            Bug::AspectStatusBackwards => {
                "revising an approved aspect is accepted and moves it back to validating"
            }
            Bug::StoryOrphanWorld => {
                "a story can be created in a world that does not exist (world check skipped)"
            }
        }
    }
}

/// How to run the platform.
#[derive(Debug, Clone)]
pub struct PlatformOptions {
    pub db: DbLocation,
    pub bugs: Vec<Bug>,
    /// The admin key. It is registered as a real agent at start (like the real platform, where the
    /// admin key must also be a user's key). `None` = generate one.
    pub admin_key: Option<String>,
    /// Enables `POST /api/proposals/{id}/test-approve` (the real platform's DSF_TEST_MODE_ENABLED).
    pub test_mode: bool,
    /// A commit to report from `/health` as `deployed_commit` (the real platform reports none).
    pub commit: Option<String>,
    /// Test only: registers `/api/test/db-faults` so a run can stall or fail the next database
    /// transactions (see `faults.rs`). Never on in normal runs.
    pub fault_control: bool,
}

impl Default for PlatformOptions {
    fn default() -> Self {
        PlatformOptions {
            db: DbLocation::Memory,
            bugs: Vec::new(),
            admin_key: None,
            test_mode: false,
            commit: None,
            fault_control: false,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("database: {0}")]
    Db(#[from] rusqlite::Error),
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        addr: SocketAddr,
        source: std::io::Error,
    },
    #[error("admin key must start with dsf_ and be 20 to 200 URL-safe characters")]
    BadAdminKey,
}

/// A running platform on 127.0.0.1.
pub struct RunningPlatform {
    pub base_url: String,
    pub addr: SocketAddr,
    /// A registered agent's key that the admin endpoints accept.
    pub admin_key: String,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    task: tokio::task::JoinHandle<()>,
}

impl RunningPlatform {
    pub async fn shutdown(mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        let _ = (&mut self.task).await;
    }
}

impl Drop for RunningPlatform {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
    }
}

pub(crate) struct AppState {
    pub db: db::Db,
    pub bugs: BTreeSet<Bug>,
    pub admin_key_hash: String,
    pub test_mode: bool,
    pub commit: Option<String>,
    /// Present only with `PlatformOptions::fault_control`.
    pub faults: Option<faults::DbFaults>,
}

impl AppState {
    pub fn bug(&self, b: Bug) -> bool {
        self.bugs.contains(&b)
    }
}

/// Starts the platform on `127.0.0.1:0` (an ephemeral port).
pub async fn start(opts: PlatformOptions) -> Result<RunningPlatform, StartError> {
    let addr: SocketAddr = ([127, 0, 0, 1], 0).into();
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|source| StartError::Bind { addr, source })?;
    serve(listener, opts).await
}

/// Starts the platform on an already bound listener.
pub async fn serve(
    listener: tokio::net::TcpListener,
    opts: PlatformOptions,
) -> Result<RunningPlatform, StartError> {
    let addr = listener.local_addr().map_err(|source| StartError::Bind {
        addr: ([127, 0, 0, 1], 0).into(),
        source,
    })?;
    let admin_key = match opts.admin_key {
        Some(k) if validate::valid_key_format(&k) => k,
        Some(_) => return Err(StartError::BadAdminKey),
        None => api::new_api_key(),
    };
    let db = db::Db::open(&opts.db)?;
    db.register_admin(&admin_key)?;
    let state = Arc::new(AppState {
        db,
        bugs: opts.bugs.into_iter().collect(),
        admin_key_hash: api::hash_key(&admin_key),
        test_mode: opts.test_mode,
        commit: opts.commit,
        faults: opts.fault_control.then(faults::DbFaults::default),
    });
    let app = api::router(state);
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let task = tokio::spawn(async move {
        let _ = axum::serve(listener, app)
            .with_graceful_shutdown(async move {
                let _ = rx.await;
            })
            .await;
    });
    Ok(RunningPlatform {
        base_url: format!("http://{addr}"),
        addr,
        admin_key,
        shutdown: Some(tx),
        task,
    })
}
