//! Catalog YAML: any UTF-8 text (a location's file is read as UTF-8
//! before it is parsed), through `parse_documents` and through
//! `check_text`, the whole ingestion of one file short of the store.
//!
//! Checks: neither panics nor overflows a 256 KiB stack (the reader must
//! not recurse, however deep the input nests); every position either
//! reports (a syntax error, a refused document, a problem on an entity)
//! is a line and column of the text; every document not refused is within
//! the catalog's budget.

#![no_main]

use greenroom_catalog::{Position, budget, check_text, parse_documents};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    on_small_stack(|| check(text));
});

fn check(text: &str) {
    match parse_documents(text) {
        Err(error) => assert_in(text, error.position, &error.message),
        Ok(documents) => {
            for document in documents {
                match document.refusal() {
                    Some(refusal) => assert_in(text, refusal.position, &refusal.message),
                    None => assert!(budget::check(&document.value).is_ok()),
                }
            }
        }
    }
    for problem in check_text("catalog-info.yaml", text, None).problems {
        if let Some(position) = problem.position {
            assert_in(text, position, &problem.message);
        }
    }
}

/// Runs `f` on a thread with a 256 KiB stack, as deep as a reader that
/// does not recurse ever needs.
fn on_small_stack(f: impl FnOnce() + Send) {
    std::thread::scope(|scope| {
        std::thread::Builder::new()
            .stack_size(256 * 1024)
            .spawn_scoped(scope, f)
            .expect("a thread starts")
            .join()
            .unwrap_or_else(|panic| std::panic::resume_unwind(panic));
    });
}

/// Panics unless `position` is a line of `text` (YAML breaks lines at
/// `\n`, `\r\n` and `\r`) and a column on it or just past its end.
fn assert_in(text: &str, position: Position, message: &str) {
    let lines: Vec<&str> = text
        .split("\r\n")
        .flat_map(|part| part.split(['\n', '\r']))
        .collect();
    let line = position
        .line
        .checked_sub(1)
        .and_then(|i| lines.get(i))
        .unwrap_or_else(|| panic!("{position:?} ({message}) is not a line of the text"));
    assert!(
        (1..=line.chars().count() + 1).contains(&position.column),
        "{position:?} ({message}) is not a column of line {line:?}"
    );
}
