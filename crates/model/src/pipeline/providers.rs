//! What CodePipeline knows about each action provider: artifact counts and
//! configuration keys (CodePipeline User Guide, "Valid input and output artifacts for each action type" and the
//! action structure reference).

use super::{ActionTypeId, Category, Owner};

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

/// Input/output artifact counts a provider accepts; `None` for providers we do not know.
pub fn artifact_bounds(t: &ActionTypeId) -> Option<ArtifactBounds> {
    use Category::*;
    let b = match (t.owner, t.category, t.provider.as_str()) {
        (Owner::Aws, Source, "S3" | "CodeCommit" | "ECR" | "CodeStarSourceConnection") => {
            bounds(0, 0, 1, 1)
        }
        (Owner::ThirdParty, Source, "GitHub") => bounds(0, 0, 1, 1),
        (Owner::Aws, Build | Test, "CodeBuild") => bounds(1, 5, 0, 5),
        (Owner::Aws, Build, "ECRBuildAndPublish") => bounds(1, 1, 0, 0),
        (Owner::Aws, Test, "DeviceFarm") => bounds(1, 1, 0, 0),
        (Owner::Aws, Compute, "Commands") => bounds(1, 10, 0, 1),
        (Owner::Aws, Approval, "Manual") => bounds(0, 0, 0, 0),
        (Owner::Aws, Deploy, "S3") => bounds(1, 1, 0, 0),
        (Owner::Aws, Deploy, "CloudFormation") => bounds(0, 10, 0, 1),
        (
            Owner::Aws,
            Deploy,
            "CodeDeploy" | "ElasticBeanstalk" | "OpsWorks" | "ECS" | "ServiceCatalog",
        ) => bounds(1, 1, 0, 0),
        (Owner::Aws, Deploy, "CodeDeployToECS") => bounds(1, 5, 0, 0),
        (Owner::Aws, Invoke, "Lambda") => bounds(0, 5, 0, 5),
        (Owner::Aws, Invoke, "StepFunctions") => bounds(0, 1, 0, 1),
        (Owner::ThirdParty, Deploy, "AlexaSkillsKit") => bounds(0, 2, 0, 0),
        (Owner::Custom, Build | Test, _) => bounds(0, 5, 0, 5),
        _ => return None,
    };
    Some(b)
}

/// Configuration keys a provider requires (CodePipeline User Guide, action structure reference: the required keys).
pub fn required_configuration(t: &ActionTypeId) -> &'static [&'static str] {
    use Category::*;
    match (t.owner, t.category, t.provider.as_str()) {
        (Owner::Aws, Source, "CodeStarSourceConnection") => {
            &["ConnectionArn", "FullRepositoryId", "BranchName"]
        }
        (Owner::Aws, Source, "CodeCommit") => &["RepositoryName", "BranchName"],
        (Owner::ThirdParty, Source, "GitHub") => &["Owner", "Repo", "Branch", "OAuthToken"],
        (Owner::Aws, Source, "S3") => &["S3Bucket", "S3ObjectKey"],
        (Owner::Aws, Source, "ECR") => &["RepositoryName"],
        (Owner::Aws, Build | Test, "CodeBuild") => &["ProjectName"],
        (Owner::Aws, Deploy, "S3") => &["BucketName", "Extract"],
        (Owner::Aws, Deploy, "CloudFormation") => &["ActionMode", "StackName"],
        (Owner::Aws, Deploy, "CodeDeploy") => &["ApplicationName", "DeploymentGroupName"],
        (Owner::Aws, Deploy, "ECS") => &["ClusterName", "ServiceName"],
        (Owner::Aws, Deploy, "CodeDeployToECS") => &[
            "ApplicationName",
            "DeploymentGroupName",
            "TaskDefinitionTemplateArtifact",
            "AppSpecTemplateArtifact",
        ],
        (Owner::Aws, Deploy, "ElasticBeanstalk") => &["ApplicationName", "EnvironmentName"],
        (Owner::Aws, Invoke, "Lambda") => &["FunctionName"],
        (Owner::Aws, Invoke, "StepFunctions") => &["StateMachineArn"],
        _ => &[],
    }
}

/// Every configuration key a provider documents, for typo warnings; `None`
/// where the list is not known well enough to warn.
pub fn known_configuration(t: &ActionTypeId) -> Option<&'static [&'static str]> {
    use Category::*;
    let keys: &'static [&'static str] = match (t.owner, t.category, t.provider.as_str()) {
        (Owner::Aws, Source, "CodeStarSourceConnection") => &[
            "ConnectionArn",
            "FullRepositoryId",
            "BranchName",
            "OutputArtifactFormat",
            "DetectChanges",
        ],
        (Owner::Aws, Source, "CodeCommit") => &[
            "RepositoryName",
            "BranchName",
            "PollForSourceChanges",
            "OutputArtifactFormat",
        ],
        (Owner::ThirdParty, Source, "GitHub") => &[
            "Owner",
            "Repo",
            "Branch",
            "OAuthToken",
            "PollForSourceChanges",
        ],
        (Owner::Aws, Source, "S3") => &[
            "S3Bucket",
            "S3ObjectKey",
            "PollForSourceChanges",
            "AllowOverrideForS3ObjectKey",
        ],
        (Owner::Aws, Source, "ECR") => &["RepositoryName", "ImageTag"],
        (Owner::Aws, Build | Test, "CodeBuild") => &[
            "ProjectName",
            "PrimarySource",
            "BatchEnabled",
            "CombineArtifacts",
            "EnvironmentVariables",
        ],
        (Owner::Aws, Deploy, "S3") => &[
            "BucketName",
            "Extract",
            "ObjectKey",
            "KMSEncryptionKeyARN",
            "CannedACL",
            "CacheControl",
        ],
        (Owner::Aws, Deploy, "ECS") => &[
            "ClusterName",
            "ServiceName",
            "FileName",
            "DeploymentTimeout",
        ],
        (Owner::Aws, Approval, "Manual") => {
            &["CustomData", "ExternalEntityLink", "NotificationArn"]
        }
        _ => return None,
    };
    Some(keys)
}
