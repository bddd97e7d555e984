//! Amazon ECS definitions a local deploy reads: task definitions
//! (`register-task-definition` JSON, `AWS::ECS::TaskDefinition`), the
//! services of a template, and the AppSpec
//! of a blue/green deployment.

pub mod appspec;
pub mod task_definition;
pub mod template;

pub use appspec::{EcsAppSpec, EcsEvent};
pub use task_definition::{ContainerDefinition, HealthCheck, TaskDefinition};
pub use template::{EcsServices, TemplateService};
