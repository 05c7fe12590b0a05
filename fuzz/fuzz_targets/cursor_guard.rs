//! Page-stream loop detection on arbitrary cursor sequences, against a plain model: a cursor is
//! refused exactly when it is among the last `REMEMBERED_CURSORS` distinct cursors followed.
//!
//! ```text
//! cargo fuzz run cursor_guard
//! ```
//!
//! Each input byte is one page: its low bits pick the cursor from a small alphabet (so repeats
//! are frequent), bit 6 clears `has_more` and bit 7 drops the cursor. Lengths beyond the
//! remembered window come from repeating the input, so eviction is exercised too.

#![no_main]

use std::collections::{HashSet, VecDeque};

use http::HeaderMap;
use libfuzzer_sys::fuzz_target;
use marketing_api::__fuzz::{self, CursorGuard, REMEMBERED_CURSORS};
use marketing_api::Page;

/// The reference: exact strings, oldest first.
struct Model {
    recent: VecDeque<String>,
    seen: HashSet<String>,
}

impl Model {
    fn first_visit(&mut self, cursor: &str) -> bool {
        if self.seen.contains(cursor) {
            return false;
        }
        if self.recent.len() == REMEMBERED_CURSORS
            && let Some(old) = self.recent.pop_front()
        {
            self.seen.remove(&old);
        }
        self.recent.push_back(cursor.to_owned());
        self.seen.insert(cursor.to_owned());
        true
    }
}

fn page(byte: u8, round: usize) -> Page<serde_json::Value> {
    // Cursors from the first round recur; later rounds shift the alphabet so old cursors
    // are evicted while new ones keep coming.
    let cursor = format!("c{}-{}", byte & 0x3f, round / 4);
    let has_more = byte & 0x40 == 0;
    let meta = if byte & 0x80 != 0 {
        serde_json::json!({ "has_more": has_more })
    } else {
        serde_json::json!({ "next_cursor": cursor, "has_more": has_more })
    };
    let body = serde_json::to_vec(&serde_json::json!({ "data": [], "meta": meta })).expect("JSON");
    __fuzz::decode_page(&HeaderMap::new(), &body, None).expect("a well-formed page")
}

/// Upper bound on guard calls per input. The window holds `REMEMBERED_CURSORS` cursors, so a
/// few windows' worth of calls exercise eviction; more only slows the fuzzer down.
const MAX_DIRECT_CALLS: usize = 8 * REMEMBERED_CURSORS;

/// Upper bound on simulated pages per input: each page is a JSON encode and decode.
const MAX_PAGES: usize = 2 * REMEMBERED_CURSORS;

fuzz_target!(|data: &[u8]| {
    if data.is_empty() {
        return;
    }
    let mut guard = CursorGuard::new();
    let mut model = Model {
        recent: VecDeque::new(),
        seen: HashSet::new(),
    };
    // Direct calls with raw cursors (any bytes) against the model.
    let rounds = 1 + (usize::from(data[0]) * 8 * REMEMBERED_CURSORS / 255) / data.len().max(1);
    let calls_per_round = data.len().div_ceil(3);
    let rounds = rounds.min(64).min(MAX_DIRECT_CALLS.div_ceil(calls_per_round));
    for round in 0..rounds {
        for chunk in data.chunks(3).take(MAX_DIRECT_CALLS) {
            let cursor = format!("{}#{round}", String::from_utf8_lossy(chunk));
            assert_eq!(
                guard.first_visit(&cursor),
                model.first_visit(&cursor),
                "guard and model disagree on {cursor:?}"
            );
        }
    }

    // A page stream's decisions: follow a new cursor, stop, or report a loop.
    let mut guard = CursorGuard::new();
    let mut model = Model {
        recent: VecDeque::new(),
        seen: HashSet::new(),
    };
    for (round, &byte) in data.iter().take(MAX_PAGES).enumerate() {
        let page = page(byte, round);
        let expected = match (&page.next_cursor, page.has_more) {
            (Some(cursor), true) if model.first_visit(cursor) => Some(Ok(cursor.clone())),
            (Some(_), true) => Some(Err(())),
            _ => None,
        };
        let step = __fuzz::next_step(&page, &mut guard);
        assert_eq!(step, expected);
        if step.is_none() || matches!(step, Some(Err(()))) {
            // A real stream ends here; start a new one.
            guard = CursorGuard::new();
            model.recent.clear();
            model.seen.clear();
        }
    }
});
