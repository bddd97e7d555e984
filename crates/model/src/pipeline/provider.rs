//! The action providers pipelocal knows, told apart once from an action's
//! `actionTypeId` (owner, category and provider name), so nothing after
//! loading compares provider names.

use super::{ActionTypeId, Category, Owner};

/// An action provider, as CodePipeline's action structure reference lists
/// them; `Unknown` for a provider pipelocal does not know (it is neither
/// checked nor run).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Provider {
    /// Source: Amazon S3.
    S3Source,
    /// Source: AWS CodeCommit.
    CodeCommit,
    /// Source: Amazon ECR.
    EcrSource,
    /// Source: CodeConnections (GitHub, GitHub Enterprise, Bitbucket, GitLab).
    CodeStarSourceConnection,
    /// Source: GitHub through OAuth (version 1, ThirdParty).
    GitHubV1,
    /// Source: Bitbucket (ThirdParty).
    Bitbucket,
    /// Build or Test: AWS CodeBuild.
    CodeBuild,
    /// Build: ECRBuildAndPublish.
    EcrBuildAndPublish,
    /// Test: AWS Device Farm.
    DeviceFarm,
    /// Compute: Commands (V2).
    Commands,
    /// Approval: Manual.
    Manual,
    /// Deploy: Amazon S3.
    S3Deploy,
    /// Deploy: AWS CloudFormation.
    CloudFormation,
    /// Deploy: AWS CodeDeploy (EC2/on-premises).
    CodeDeploy,
    /// Deploy: CodeDeployToECS (blue/green).
    CodeDeployToEcs,
    /// Deploy: Amazon ECS (standard).
    Ecs,
    /// Deploy: AWS Elastic Beanstalk.
    ElasticBeanstalk,
    /// Deploy: AWS OpsWorks.
    OpsWorks,
    /// Deploy: AWS Service Catalog.
    ServiceCatalog,
    /// Deploy: Alexa Skills Kit (ThirdParty).
    AlexaSkillsKit,
    /// Invoke: AWS Lambda.
    Lambda,
    /// Invoke: AWS Step Functions.
    StepFunctions,
    /// A custom action (owner `Custom`) of the Build or Test category.
    CustomBuildOrTest,
    Unknown,
}

impl Provider {
    /// The provider an `actionTypeId` names.
    pub fn of(t: &ActionTypeId) -> Provider {
        use Category::*;
        use Provider::*;
        match (t.owner, t.category, t.provider.as_str()) {
            (Owner::Aws, Source, "S3") => S3Source,
            (Owner::Aws, Source, "CodeCommit") => CodeCommit,
            (Owner::Aws, Source, "ECR") => EcrSource,
            (Owner::Aws, Source, "CodeStarSourceConnection") => CodeStarSourceConnection,
            (Owner::ThirdParty, Source, "GitHub") => GitHubV1,
            (Owner::ThirdParty, Source, "Bitbucket") => Bitbucket,
            (Owner::Aws, Build | Test, "CodeBuild") => CodeBuild,
            (Owner::Aws, Build, "ECRBuildAndPublish") => EcrBuildAndPublish,
            (Owner::Aws, Test, "DeviceFarm") => DeviceFarm,
            (Owner::Aws, Compute, "Commands") => Commands,
            (Owner::Aws, Approval, "Manual") => Manual,
            (Owner::Aws, Deploy, "S3") => S3Deploy,
            (Owner::Aws, Deploy, "CloudFormation") => CloudFormation,
            (Owner::Aws, Deploy, "CodeDeploy") => CodeDeploy,
            (Owner::Aws, Deploy, "CodeDeployToECS") => CodeDeployToEcs,
            (Owner::Aws, Deploy, "ECS") => Ecs,
            (Owner::Aws, Deploy, "ElasticBeanstalk") => ElasticBeanstalk,
            (Owner::Aws, Deploy, "OpsWorks") => OpsWorks,
            (Owner::Aws, Deploy, "ServiceCatalog") => ServiceCatalog,
            (Owner::ThirdParty, Deploy, "AlexaSkillsKit") => AlexaSkillsKit,
            (Owner::Aws, Invoke, "Lambda") => Lambda,
            (Owner::Aws, Invoke, "StepFunctions") => StepFunctions,
            (Owner::Custom, Build | Test, _) => CustomBuildOrTest,
            _ => Unknown,
        }
    }

    /// A source whose artifact is a git repository's files (CodePipeline
    /// clones or zips a commit), answered locally by a git work tree.
    pub fn is_git_source(self) -> bool {
        matches!(
            self,
            Provider::CodeStarSourceConnection
                | Provider::CodeCommit
                | Provider::GitHubV1
                | Provider::Bitbucket
        )
    }
}

/// How many input and output artifacts an action of a provider takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ArtifactBounds {
    pub min_inputs: usize,
    pub max_inputs: usize,
    pub min_outputs: usize,
    pub max_outputs: usize,
}

const fn bounds(
    min_inputs: usize,
    max_inputs: usize,
    min_outputs: usize,
    max_outputs: usize,
) -> ArtifactBounds {
    ArtifactBounds {
        min_inputs,
        max_inputs,
        min_outputs,
        max_outputs,
    }
}

impl Provider {
    /// Input/output artifact counts the provider accepts (CodePipeline User
    /// Guide, "Valid input and output artifacts for each action type");
    /// `None` for providers pipelocal does not know.
    pub fn artifact_bounds(self) -> Option<ArtifactBounds> {
        use Provider::*;
        let b = match self {
            S3Source | CodeCommit | EcrSource | CodeStarSourceConnection | GitHubV1 => {
                bounds(0, 0, 1, 1)
            }
            CodeBuild => bounds(1, 5, 0, 5),
            EcrBuildAndPublish => bounds(1, 1, 0, 0),
            DeviceFarm => bounds(1, 1, 0, 0),
            Commands => bounds(1, 10, 0, 1),
            Manual => bounds(0, 0, 0, 0),
            S3Deploy => bounds(1, 1, 0, 0),
            CloudFormation => bounds(0, 10, 0, 1),
            CodeDeploy | ElasticBeanstalk | OpsWorks | Ecs | ServiceCatalog => bounds(1, 1, 0, 0),
            CodeDeployToEcs => bounds(1, 5, 0, 0),
            Lambda => bounds(0, 5, 0, 5),
            StepFunctions => bounds(0, 1, 0, 1),
            AlexaSkillsKit => bounds(0, 2, 0, 0),
            CustomBuildOrTest => bounds(0, 5, 0, 5),
            Bitbucket | Unknown => return None,
        };
        Some(b)
    }

    /// Configuration keys the provider requires (CodePipeline User Guide,
    /// action structure reference: the required keys).
    pub fn required_configuration(self) -> &'static [&'static str] {
        use Provider::*;
        match self {
            CodeStarSourceConnection => &["ConnectionArn", "FullRepositoryId", "BranchName"],
            CodeCommit => &["RepositoryName", "BranchName"],
            GitHubV1 => &["Owner", "Repo", "Branch", "OAuthToken"],
            S3Source => &["S3Bucket", "S3ObjectKey"],
            EcrSource => &["RepositoryName"],
            CodeBuild => &["ProjectName"],
            S3Deploy => &["BucketName", "Extract"],
            CloudFormation => &["ActionMode", "StackName"],
            CodeDeploy => &["ApplicationName", "DeploymentGroupName"],
            Ecs => &["ClusterName", "ServiceName"],
            CodeDeployToEcs => &[
                "ApplicationName",
                "DeploymentGroupName",
                "TaskDefinitionTemplateArtifact",
                "AppSpecTemplateArtifact",
            ],
            ElasticBeanstalk => &["ApplicationName", "EnvironmentName"],
            Lambda => &["FunctionName"],
            StepFunctions => &["StateMachineArn"],
            _ => &[],
        }
    }

    /// Every configuration key the provider documents, for typo warnings;
    /// `None` where the list is not known well enough to warn.
    pub fn known_configuration(self) -> Option<&'static [&'static str]> {
        use Provider::*;
        let keys: &'static [&'static str] = match self {
            CodeStarSourceConnection => &[
                "ConnectionArn",
                "FullRepositoryId",
                "BranchName",
                "OutputArtifactFormat",
                "DetectChanges",
            ],
            CodeCommit => &[
                "RepositoryName",
                "BranchName",
                "PollForSourceChanges",
                "OutputArtifactFormat",
            ],
            GitHubV1 => &[
                "Owner",
                "Repo",
                "Branch",
                "OAuthToken",
                "PollForSourceChanges",
            ],
            S3Source => &[
                "S3Bucket",
                "S3ObjectKey",
                "PollForSourceChanges",
                "AllowOverrideForS3ObjectKey",
            ],
            EcrSource => &["RepositoryName", "ImageTag"],
            CodeBuild => &[
                "ProjectName",
                "PrimarySource",
                "BatchEnabled",
                "CombineArtifacts",
                "EnvironmentVariables",
            ],
            S3Deploy => &[
                "BucketName",
                "Extract",
                "ObjectKey",
                "KMSEncryptionKeyARN",
                "CannedACL",
                "CacheControl",
            ],
            Ecs => &[
                "ClusterName",
                "ServiceName",
                "FileName",
                "DeploymentTimeout",
            ],
            Manual => &["CustomData", "ExternalEntityLink", "NotificationArn"],
            _ => return None,
        };
        Some(keys)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(owner: Owner, category: Category, provider: &str) -> ActionTypeId {
        ActionTypeId::new(category, owner, provider, "1")
    }

    #[test]
    fn a_provider_is_its_owner_category_and_name_together() {
        assert_eq!(
            Provider::of(&id(Owner::Aws, Category::Source, "S3")),
            Provider::S3Source
        );
        assert_eq!(
            Provider::of(&id(Owner::Aws, Category::Deploy, "S3")),
            Provider::S3Deploy
        );
        assert_eq!(
            Provider::of(&id(Owner::ThirdParty, Category::Build, "CodeBuild")),
            Provider::Unknown
        );
        assert_eq!(
            Provider::of(&id(Owner::Custom, Category::Test, "MyRunner")),
            Provider::CustomBuildOrTest
        );
    }
}
