//! End-to-end tests that need the Docker engine to themselves: no other
//! pipelocal of this test run may act on the engine meanwhile (a build of a
//! concurrent test would reap the leftovers before the build under test).
//! Like `tests/it`, every file of this folder is a module.

#[path = "../it/common.rs"]
mod common;

automod::dir!("../../tests/alone");
