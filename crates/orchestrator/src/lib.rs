//! CodePipeline emulation: the execution plan (stages, run-order groups,
//! artifact flow), walking it with artifacts in a local store and variables
//! between actions, and the history every execution leaves.

pub mod actions;
pub mod cloud_comparison;
pub mod conditions;
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
