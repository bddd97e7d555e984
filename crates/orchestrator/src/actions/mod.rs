//! What each kind of action does locally.

pub mod build;
pub mod source;
