//! Version 2 of tests/plugins/upgrade-v1: the same code, built as 2.0.0.
include!("../../upgrade-v1/src/lib.rs");
