//! What `Ref` and `Fn::GetAtt` give for things that exist only once
//! deployed: pseudo parameters with the local account and region, and
//! deterministic stand-ins for resources' names, ARNs and attributes.

use serde_json::Value;

use super::{scalar_string, Eval, Resolver};
use crate::cfn::parameters::{deployed_placeholder, parameter_placeholder, Placeholder};
use crate::cfn::{LOCAL_ACCOUNT, LOCAL_REGION, PROJECT_TYPE};
use crate::locate::DocPath;

impl Resolver<'_, '_> {
    /// `Ref`: a pseudo parameter, a parameter's value (given, its default, or
    /// a placeholder), or a resource's stand-in (its name, or an ARN or URL
    /// where `Ref` gives one).
    pub(super) fn reference(&mut self, target: &str) -> Eval {
        if let Some(v) = pseudo_parameter(target, &self.template.stack_name()) {
            return Ok(v);
        }
        if let Some(param) = self.template.parameters().get(target) {
            let given = self.template.given.get(target).cloned().map(Value::String);
            let default = match given.or_else(|| param.get("Default").cloned()) {
                Some(v) => v,
                None => Value::String(self.stand_in(
                    Placeholder {
                        value: parameter_placeholder(target),
                        what: format!("parameter '{target}'"),
                        remedy: format!("--parameter {target}=..."),
                    },
                    DocPath::root().key("Parameters").key(target),
                )),
            };
            let default = &default;
            let ty = param
                .get("Type")
                .and_then(Value::as_str)
                .unwrap_or("String");
            if ty.starts_with("List<") || ty == "CommaDelimitedList" {
                if let Some(s) = default.as_str() {
                    return Ok(Some(Value::Array(
                        s.split(',')
                            .map(|p| Value::String(p.trim().into()))
                            .collect(),
                    )));
                }
            }
            return Ok(Some(default.clone()));
        }
        let Some(ty) = self.template.resource_type(target) else {
            return Err(format!(
                "'{target}' is neither a parameter nor a resource of this template"
            ));
        };
        if self.deployed_only {
            return Err(format!("resource {target} exists only once deployed"));
        }
        let ty = ty.to_string();
        let name = self.resource_name(target, &ty);
        let value = match ty.as_str() {
            "AWS::SecretsManager::Secret" => format!(
                "arn:aws:secretsmanager:{LOCAL_REGION}:{LOCAL_ACCOUNT}:secret:{name}-AbCdEf"
            ),
            "AWS::SNS::Topic" => format!("arn:aws:sns:{LOCAL_REGION}:{LOCAL_ACCOUNT}:{name}"),
            "AWS::SQS::Queue" => {
                format!("https://sqs.{LOCAL_REGION}.amazonaws.com/{LOCAL_ACCOUNT}/{name}")
            }
            _ => name,
        };
        Ok(Some(Value::String(value)))
    }

    /// The physical name a resource would have: its name property when the
    /// template sets one, else its logical id.
    pub(super) fn resource_name(&mut self, logical: &str, ty: &str) -> String {
        let prop = match ty {
            PROJECT_TYPE | "AWS::CodePipeline::Pipeline" => "Name",
            "AWS::S3::Bucket" => "BucketName",
            "AWS::IAM::Role" => "RoleName",
            "AWS::SNS::Topic" => "TopicName",
            "AWS::SQS::Queue" => "QueueName",
            "AWS::Lambda::Function" => "FunctionName",
            "AWS::ECR::Repository" => "RepositoryName",
            "AWS::ECS::Cluster" => "ClusterName",
            "AWS::ECS::Service" => "ServiceName",
            "AWS::CodeDeploy::Application" => "ApplicationName",
            "AWS::CodeDeploy::DeploymentGroup" => "DeploymentGroupName",
            _ => "Name",
        };
        let raw = self
            .template
            .resources()
            .get(logical)
            .and_then(|r| r.get("Properties"))
            .and_then(|p| p.get(prop))
            .cloned();
        if let Some(raw) = raw {
            let path = DocPath::root()
                .key("Resources")
                .key(logical)
                .key("Properties")
                .key(prop);
            if let Ok(Some(v)) = self.arg(&raw, &path) {
                if let Some(s) = scalar_string(&v) {
                    return s;
                }
            }
        }
        logical.to_string()
    }

    /// `Fn::GetAtt`: ARNs and names shaped like the real ones; a custom
    /// resource's attributes are known only once deployed (a placeholder).
    pub(super) fn get_att(&mut self, logical: &str, attr: &str) -> Result<Value, String> {
        let Some(ty) = self.template.resource_type(logical) else {
            return Err(format!("'{logical}' is not a resource of this template"));
        };
        if self.deployed_only {
            return Err(format!("resource {logical} exists only once deployed"));
        }
        let ty = ty.to_string();
        if ty.starts_with("Custom::") || ty == "AWS::CloudFormation::CustomResource" {
            let value = self.stand_in(
                Placeholder {
                    value: deployed_placeholder(logical, attr),
                    what: format!(
                        "attribute {attr} of custom resource '{logical}' (known once deployed)"
                    ),
                    remedy: String::new(),
                },
                DocPath::root().key("Resources").key(logical),
            );
            return Ok(Value::String(value));
        }
        let name = self.resource_name(logical, &ty);
        let mut parts = ty.split("::").skip(1);
        let service = parts.next().unwrap_or("unknown").to_ascii_lowercase();
        let kind = parts.next().unwrap_or("resource").to_ascii_lowercase();
        let value = match attr {
            "Arn" => match service.as_str() {
                "iam" => format!("arn:aws:iam::{LOCAL_ACCOUNT}:{kind}/{name}"),
                "s3" => format!("arn:aws:s3:::{name}"),
                _ => format!("arn:aws:{service}:{LOCAL_REGION}:{LOCAL_ACCOUNT}:{kind}/{name}"),
            },
            "Name" | "RoleId" | "Id" => name,
            other => format!("{name}.{other}"),
        };
        Ok(Value::String(value))
    }
}

/// A pseudo parameter's value here (`Some(None)`: `AWS::NoValue`).
pub(super) fn pseudo_parameter(name: &str, stack: &str) -> Option<Option<Value>> {
    let s = |v: String| Some(Some(Value::String(v)));
    match name {
        "AWS::Region" => s(LOCAL_REGION.into()),
        "AWS::AccountId" => s(LOCAL_ACCOUNT.into()),
        "AWS::Partition" => s("aws".into()),
        "AWS::URLSuffix" => s("amazonaws.com".into()),
        "AWS::StackName" => s(stack.into()),
        "AWS::StackId" => s(format!(
            "arn:aws:cloudformation:{LOCAL_REGION}:{LOCAL_ACCOUNT}:stack/{stack}/00000000-0000-0000-0000-000000000000"
        )),
        "AWS::NotificationARNs" => Some(Some(Value::Array(Vec::new()))),
        "AWS::NoValue" => Some(None),
        _ => None,
    }
}
