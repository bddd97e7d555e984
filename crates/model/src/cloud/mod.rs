//! What AWS gives about a build that already ran in the cloud, read to
//! reproduce it here: the record `aws codebuild batch-get-builds` prints
//! (`batch_get_builds`) and the build's `[Container]` log as CloudWatch Logs
//! exports it (`container_log`).

pub mod batch_get_builds;
pub mod container_log;
