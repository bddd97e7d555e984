//! AWS CodeDeploy, EC2/on-premises: the revision's AppSpec file as the
//! agent reads it ([`appspec`]) and the deployment groups a template
//! defines ([`deployment_group`]).

pub mod appspec;
pub mod deployment_group;

pub use appspec::{parse_appspec, AppSpec, LifecycleEvent};
pub use deployment_group::{
    deployment_groups_from_template, AutoRollback, DeploymentGroup, RollbackEvent,
};
