//! CodePipeline emulation: the execution plan (stages, run-order groups,
//! artifact flow), walking it with artifacts in a local store and variables
//! between actions, and the history every execution leaves.
//!
//! The public surface, for the CLI:
//! - running: `run` (`run_pipeline` and its options), `resume` (retry and
//!   starting from a stage), `plan` (the plan `graph` draws), and from
//!   `actions` the settings a run is given (approval policy, build settings,
//!   which files of git sources);
//! - what a run reports: `events` (the event stream), `status` (CodePipeline's
//!   status words);
//! - what a run leaves: `history` (execution records), `state` (the
//!   get-pipeline-state and list-* shapes), `store` (the local S3), `locks`
//!   (who waits for a stage);
//! - reproducing a cloud run: `from_execution` (the execution a run takes
//!   its revisions and variables from), `cloud_comparison` (the cloud's
//!   statuses beside the run's).
//!
//! Everything else is how a run does its work, private to this crate.

pub mod actions;
pub mod cloud_comparison;
mod conditions;
pub mod events;
pub mod from_execution;
pub mod history;
pub mod locks;
pub mod plan;
pub mod resume;
pub mod run;
pub mod state;
pub mod status;
pub mod store;
