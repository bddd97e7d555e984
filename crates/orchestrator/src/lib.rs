//! CodePipeline emulation: how a pipeline will be walked (stages, run-order
//! groups, artifact flow), and (in later work) walking it.

pub mod plan;
