//! Build phases, their statuses, and what runs after each outcome
//! (CodeBuild User Guide, "Build phase transitions").

use pipelocal_model::buildspec::{OnFailure, PhaseName};

/// Phase types in the order CodeBuild walks them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum PhaseType {
    Submitted,
    Queued,
    Provisioning,
    DownloadSource,
    Install,
    PreBuild,
    Build,
    PostBuild,
    UploadArtifacts,
    Finalizing,
    Completed,
}

impl PhaseType {
    /// Every phase type, in the order CodeBuild walks them.
    pub const ALL: [PhaseType; 11] = [
        PhaseType::Submitted,
        PhaseType::Queued,
        PhaseType::Provisioning,
        PhaseType::DownloadSource,
        PhaseType::Install,
        PhaseType::PreBuild,
        PhaseType::Build,
        PhaseType::PostBuild,
        PhaseType::UploadArtifacts,
        PhaseType::Finalizing,
        PhaseType::Completed,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            PhaseType::Submitted => "SUBMITTED",
            PhaseType::Queued => "QUEUED",
            PhaseType::Provisioning => "PROVISIONING",
            PhaseType::DownloadSource => "DOWNLOAD_SOURCE",
            PhaseType::Install => "INSTALL",
            PhaseType::PreBuild => "PRE_BUILD",
            PhaseType::Build => "BUILD",
            PhaseType::PostBuild => "POST_BUILD",
            PhaseType::UploadArtifacts => "UPLOAD_ARTIFACTS",
            PhaseType::Finalizing => "FINALIZING",
            PhaseType::Completed => "COMPLETED",
        }
    }

    /// The buildspec phase this phase type runs, if it runs one.
    pub fn buildspec_phase(self) -> Option<PhaseName> {
        match self {
            PhaseType::Install => Some(PhaseName::Install),
            PhaseType::PreBuild => Some(PhaseName::PreBuild),
            PhaseType::Build => Some(PhaseName::Build),
            PhaseType::PostBuild => Some(PhaseName::PostBuild),
            _ => None,
        }
    }

    fn successor(self) -> PhaseType {
        use PhaseType::*;
        match self {
            Submitted => Queued,
            Queued => Provisioning,
            Provisioning => DownloadSource,
            DownloadSource => Install,
            Install => PreBuild,
            PreBuild => Build,
            Build => PostBuild,
            PostBuild => UploadArtifacts,
            UploadArtifacts => Finalizing,
            Finalizing | Completed => Completed,
        }
    }
}

/// Status of a phase or a build (CodeBuild's StatusType).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Status {
    Succeeded,
    Failed,
    Fault,
    TimedOut,
    InProgress,
    Stopped,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Succeeded => "SUCCEEDED",
            Status::Failed => "FAILED",
            Status::Fault => "FAULT",
            Status::TimedOut => "TIMED_OUT",
            Status::InProgress => "IN_PROGRESS",
            Status::Stopped => "STOPPED",
        }
    }
}

/// The phase to enter after `phase` ended with `status`, given the buildspec
/// phase's `on-failure` setting.
///
/// Without `on-failure`: failures before BUILD skip to FINALIZING; a BUILD
/// failure still runs POST_BUILD; a POST_BUILD failure still attempts
/// UPLOAD_ARTIFACTS. `CONTINUE` always moves on to the next phase; `ABORT`
/// ends at FINALIZING. Timeouts and stops always end the build. RETRY is
/// decided by the caller before asking (it re-runs the same phase).
pub fn next_phase(phase: PhaseType, status: Status, on_failure: Option<&OnFailure>) -> PhaseType {
    use PhaseType::*;
    match status {
        Status::Succeeded => phase.successor(),
        Status::TimedOut | Status::Stopped | Status::Fault => {
            if phase == Finalizing || phase == Completed {
                Completed
            } else {
                Finalizing
            }
        }
        Status::Failed | Status::InProgress => match (phase, on_failure) {
            (Install | PreBuild | Build | PostBuild, Some(OnFailure::Continue)) => {
                phase.successor()
            }
            (Install | PreBuild | Build | PostBuild, Some(OnFailure::Abort)) => Finalizing,
            (Build, _) => PostBuild,
            (PostBuild, _) => UploadArtifacts,
            (Finalizing | Completed, _) => Completed,
            _ => Finalizing,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::PhaseType::*;
    use super::*;

    #[test]
    fn default_transitions_follow_the_documented_table() {
        assert_eq!(next_phase(DownloadSource, Status::Failed, None), Finalizing);
        assert_eq!(next_phase(Install, Status::Failed, None), Finalizing);
        assert_eq!(next_phase(PreBuild, Status::Failed, None), Finalizing);
        assert_eq!(next_phase(Build, Status::Failed, None), PostBuild);
        assert_eq!(next_phase(PostBuild, Status::Failed, None), UploadArtifacts);
        assert_eq!(
            next_phase(UploadArtifacts, Status::Failed, None),
            Finalizing
        );
        assert_eq!(next_phase(Finalizing, Status::Succeeded, None), Completed);
    }

    #[test]
    fn on_failure_overrides_and_endings() {
        assert_eq!(
            next_phase(Install, Status::Failed, Some(&OnFailure::Continue)),
            PreBuild
        );
        assert_eq!(
            next_phase(Build, Status::Failed, Some(&OnFailure::Abort)),
            Finalizing
        );
        assert_eq!(
            next_phase(Build, Status::TimedOut, Some(&OnFailure::Continue)),
            Finalizing
        );
        assert_eq!(
            next_phase(Build, Status::Succeeded, Some(&OnFailure::Abort)),
            PostBuild
        );
    }
}
