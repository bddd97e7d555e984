//! CodeBuild emulation: the build phase state machine, and (in later work)
//! the executors that run buildspec commands.

pub mod phases;
