//! CodeBuild emulation: a build's phases run over an executor (a Docker
//! container, or the host's shell) with CodeBuild's transitions, shell model
//! and environment, reporting progress as typed events.
//!
//! The public surface, for the orchestrator and the CLI:
//! - preparing and running a build: `prepare` (flags and project to a
//!   `BuildRequest`), `build` (`run_build`, stop signals), `batch`;
//! - what a build reports: `events` (the event stream and its sinks),
//!   `phases` (phase types and statuses), `record` (the batch-get-builds
//!   shaped record), `environment` (CodeBuild's variables);
//! - debugging: `pause` (breakpoints, kept builds, `pipelocal shell`);
//! - reproducing a cloud build: `reproduce` (`--from-build`: checkouts of its
//!   commits, the verdict, the log comparison);
//! - where builds run: `executor` (Docker and host), `engine_check`
//!   (`pipelocal doctor`), `source_files` (what of a folder goes in);
//! - shared with the orchestrator: `artifacts` (zips in and out), `clock`
//!   (time as builds record it) and `git` (asking git about a folder).
//!
//! Everything else is how a build does its work, private to this crate.

pub mod artifacts;
pub mod batch;
pub mod build;
mod cache;
pub mod clock;
pub mod engine_check;
pub mod environment;
pub mod events;
pub mod executor;
pub mod git;
mod helpers;
mod mask;
mod numbering;
pub mod pause;
pub mod phases;
pub mod prepare;
mod probe;
pub mod record;
mod reports;
pub mod reproduce;
mod shell;
pub mod source_files;
mod upload;
