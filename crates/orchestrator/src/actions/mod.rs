//! What each kind of action does locally.

pub mod approval;
pub mod build;
pub mod deploy;
pub mod handler;
pub mod mapped;
pub mod source;
