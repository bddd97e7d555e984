//! CodeBuild emulation: a build's phases run over an executor (a Docker
//! container, or the host's shell) with CodeBuild's transitions, shell model
//! and environment, reporting progress as typed events.

pub mod artifacts;
pub mod batch;
pub mod build;
pub mod cache;
pub mod clock;
pub mod engine_check;
pub mod environment;
pub mod events;
pub mod executor;
pub mod helpers;
pub mod mask;
pub mod numbering;
pub mod pause;
pub mod phases;
pub mod prepare;
mod probe;
pub mod record;
pub mod reports;
pub mod shell;
pub mod source_files;
mod upload;
