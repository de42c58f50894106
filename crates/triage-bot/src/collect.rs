//! Reading open feedback from the platform.
//!
//! `GET /api/feedback/summary` first: when `stats.open` is 0 nothing else is asked. Otherwise
//! `GET /api/feedback/list?status=S&limit=100&offset=N` for each open status (`new`,
//! `acknowledged`, `in_progress`), page by page until `has_more` is false (at most
//! [`MAX_PAGES_PER_STATUS`] pages), plus the summary's critical items. Items are de-duplicated by id
//! (a report filed while paging shifts offsets) and anything whose status is not open is dropped,
//! in case a server ignores the filter.

use crate::when;
use api_client::vocab::FeedbackStatus;
use api_client::{ApiError, Client, Feedback, FeedbackListQuery};
use std::collections::BTreeMap;

/// 100 items a page: 5,000 open items per status at most.
pub const MAX_PAGES_PER_STATUS: usize = 50;
const PAGE: u32 = 100;

#[derive(Debug, Clone, Default)]
pub struct Collected {
    /// `stats.open` of the summary.
    pub open_in_summary: i64,
    /// Open items (after `--since`), sorted by id.
    pub items: Vec<Feedback>,
    /// Open items left out by `--since`.
    pub before_since: usize,
    /// List requests made.
    pub pages: usize,
    /// Things the report should mention (a page cap hit, unparseable dates).
    pub warnings: Vec<String>,
}

/// Reads the summary and every open item created at or after `since` (Unix seconds).
pub async fn collect(client: &Client, since: Option<i64>) -> Result<Collected, ApiError> {
    let summary = client.feedback_summary().await?;
    let mut out = Collected {
        open_in_summary: summary.stats.open,
        ..Default::default()
    };
    if summary.stats.open <= 0 {
        return Ok(out);
    }
    let mut by_id: BTreeMap<String, Feedback> = BTreeMap::new();
    for f in summary.critical_issues {
        by_id.insert(f.id.clone(), f);
    }
    for status in FeedbackStatus::OPEN {
        let mut offset = 0u32;
        let mut pages = 0;
        loop {
            let page = client
                .feedback_list(&FeedbackListQuery {
                    status: Some(status.to_string()),
                    limit: Some(PAGE),
                    offset: Some(offset),
                    ..Default::default()
                })
                .await?;
            pages += 1;
            out.pages += 1;
            let n = page.feedback.len() as u32;
            for f in page.feedback {
                by_id.insert(f.id.clone(), f);
            }
            if !page.has_more || n == 0 {
                break;
            }
            if pages >= MAX_PAGES_PER_STATUS {
                out.warnings.push(format!(
                    "stopped reading `{status}` feedback after {pages} pages ({} items); the rest is not in this report",
                    pages * PAGE as usize
                ));
                break;
            }
            offset += n;
        }
    }
    let mut undated = 0;
    for (_, f) in by_id {
        if !f.status.parse().is_ok_and(FeedbackStatus::is_open) {
            continue;
        }
        let created = when::parse(&f.created_at);
        if created.is_none() {
            undated += 1;
        }
        match (since, created) {
            (Some(s), Some(c)) if c < s => out.before_since += 1,
            _ => out.items.push(f),
        }
    }
    if undated > 0 {
        out.warnings.push(format!(
            "{undated} report(s) have an unreadable created_at; they are kept and sorted last"
        ));
    }
    Ok(out)
}
