//! The end-to-end tests: one binary whose modules are every file of this
//! folder (a new file is a new module, no list to keep), each driving the
//! real `pipelocal` binary. `common.rs` holds what they share.

automod::dir!("../../tests/it");
