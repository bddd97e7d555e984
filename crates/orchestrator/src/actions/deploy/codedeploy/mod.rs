//! AWS CodeDeploy (EC2/on-premises, in place): the bundle's AppSpec file
//! checked as the agent reads it, and with `--deploy local` deployed into
//! the deployment group's instance container (CodePipeline User Guide,
//! "CodeDeploy deploy action reference"; CodeDeploy User Guide, "AppSpec
//! file reference"). `lifecycle` runs the events, `install` plans Install,
//! `rollback` redeploys the last good revision, `instance` is the container.

use std::path::Path;

use pipelocal_model::codedeploy::appspec::{LoadedAppSpec, Os, APPSPEC_NAMES};
use pipelocal_model::codedeploy::parse_appspec;
use pipelocal_runner::artifacts::archive::hashes;

use super::*;

mod install;
mod instance;
mod lifecycle;
mod rollback;

use instance::Instance;
use lifecycle::{Bundle, Deployment, Failure};

/// The deployment-level error of a deployment whose one instance failed:
/// the code from the CodeDeploy User Guide ("Error codes for AWS
/// CodeDeploy"), the words as CodeDeploy reports them, and the form the
/// pipeline shows them in (message, then the code).
const HEALTH_CONSTRAINTS: &str = "The overall deployment failed because too many individual instances failed deployment, too few healthy instances are available for deployment, or some instances in your deployment group are experiencing problems. (Error code: HEALTH_CONSTRAINTS)";

/// The AppSpec file at the root of the input, parsed: `appspec.yml`, else
/// `appspec.yaml`, as the agent looks for it. One that is there but cannot
/// be read (not UTF-8, not readable) is that error, not a missing file.
fn read_appspec(input: &InputArtifact) -> Result<LoadedAppSpec, String> {
    let name = APPSPEC_NAMES
        .iter()
        .find(|name| input.dir.join(name).is_file())
        .ok_or_else(|| {
            format!(
                "appspec.yml does not exist at the root of input artifact {} (nor appspec.yaml)",
                input.name
            )
        })?;
    let text = read_in(input, name)?;
    parse_appspec(Path::new(name), text).map_err(|e| e.summary())
}

pub(super) fn codedeploy(cx: &Context) -> Result<Done, String> {
    let app = cx.required("ApplicationName")?;
    let group = cx.required("DeploymentGroupName")?;
    let input = cx.sole_input()?;
    let loaded = read_appspec(input)?;
    let spec = &loaded.appspec;
    let mut done = Done::default();
    done.lines
        .extend(loaded.warnings.iter().map(ToString::to_string));
    for file in &spec.files {
        let source = file.source.trim_matches('/');
        if !source.is_empty() && !input.dir.join(source).exists() {
            return Err(format!(
                "{}: files source {} is not in the bundle",
                file.place, file.source
            ));
        }
    }
    for (event, hooks) in &spec.hooks {
        for hook in hooks {
            let location = &hook.location;
            if !input.dir.join(location.trim_start_matches('/')).is_file() {
                return Err(format!(
                    "{}: the {event} hook script {location} is not in the bundle",
                    hook.place
                ));
            }
            done.lines.push(format!("{event}: {location}"));
        }
    }
    done.summary = format!("Would deploy {} to {app}/{group}", input.name);
    Ok(done)
}

/// `--deploy local`: the appspec's lifecycle in the deployment group's
/// instance container, and on failure the automatic rollback the template's
/// deployment group asks for.
pub(super) async fn deploy_locally(
    cx: &Context<'_>,
    local: &Local<'_>,
) -> Result<Done, DeployFailed> {
    let app = cx.required("ApplicationName")?;
    let group = cx.required("DeploymentGroupName")?;
    let input = cx.sole_input()?;
    let loaded = read_appspec(input)?;
    for warning in &loaded.warnings {
        local.say(warning.to_string());
    }
    if loaded.appspec.os == Os::Windows {
        return Err(format!(
            "{}: os: windows: Windows instances are not deployed locally (only linux)",
            loaded.appspec.os_place
        )
        .into());
    }
    let auto_rollback =
        pipelocal_model::codedeploy::deployment_group::find(local.deployment_groups, app, group)
            .map(|g| g.auto_rollback.clone())
            .unwrap_or_default();
    let instance = Instance::ensure(cx, local, app, group).await?;
    let group_id = group_id(app, group);
    let mut deployment = Deployment::new(app, group, &group_id);
    deployment.bundle = bundle_variables(cx, input)?;
    local.say(format!(
        "Deployment {} of {} to {app}/{group} (deployment group id {group_id}) in instance {}",
        deployment.id, input.name, instance.name
    ));
    let bundle = Bundle::Local(&input.dir);
    match lifecycle::deploy(&instance, &deployment, bundle, Some(loaded.appspec), local).await {
        Ok(()) => Ok(Done {
            summary: format!(
                "Deployed {} to {app}/{group}: deployment {} succeeded in instance {}",
                input.name, deployment.id, instance.name
            ),
            external_id: Some(deployment.id.clone()),
            ..Done::default()
        }),
        Err(failure) => {
            let rollback =
                rollback::after_failure(&instance, &deployment, &auto_rollback, local).await?;
            Err(DeployFailed {
                message: failed(&deployment, &failure, &rollback),
                external_id: Some(deployment.id.clone()),
            })
        }
    }
}

/// The agent's variables of an S3 revision: the input artifact's place in
/// the local artifact store, and its ETag (the zip's MD5, as S3 gives it).
fn bundle_variables(
    cx: &Context<'_>,
    input: &InputArtifact,
) -> Result<Vec<(String, String)>, String> {
    let mut vars = vec![
        ("BUNDLE_BUCKET".to_string(), input.location.bucket.clone()),
        ("BUNDLE_KEY".to_string(), input.location.key.clone()),
    ];
    if let Some(zip) = cx.input_zips.get(&input.name) {
        let (_, md5) = hashes(zip).map_err(|e| format!("{}: {e}", zip.display()))?;
        vars.push(("BUNDLE_ETAG".to_string(), md5));
    }
    Ok(vars)
}

/// The action's error: the instance's diagnostics (event, error code and
/// the agent's message), then the deployment-level message the pipeline
/// shows, then what the rollback did.
fn failed(deployment: &Deployment<'_>, failure: &Failure, rollback: &rollback::Rollback) -> String {
    format!(
        "Deployment {} failed at {}: {}: {}. {HEALTH_CONSTRAINTS}{}",
        deployment.id,
        failure.event,
        failure.code,
        failure.message,
        rollback.said()
    )
}

/// A deployment group's id: CodeDeploy's is a UUID; this one is derived
/// from the names, so the instance's folders stay the same from run to run.
fn group_id(application: &str, group: &str) -> String {
    use pipelocal_runner::executor::deploy_containers::{stable_hash, HASH_SEED};
    let names = format!("{application}/{group}");
    let hex = format!(
        "{:016x}{:016x}",
        stable_hash(HASH_SEED, &names),
        stable_hash(HASH_SEED.rotate_left(32), &names)
    );
    format!(
        "{}-{}-{}-{}-{}",
        &hex[..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..]
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input(dir: &Path) -> InputArtifact {
        InputArtifact {
            name: "Src".into(),
            dir: dir.to_path_buf(),
            location: crate::store::S3Location {
                bucket: String::new(),
                key: String::new(),
            },
            revision: None,
        }
    }

    #[test]
    fn a_missing_appspec_and_an_unreadable_one_are_told_apart() {
        let dir = tempfile::tempdir().unwrap();
        let missing = read_appspec(&input(dir.path())).unwrap_err();
        assert_eq!(
            missing,
            "appspec.yml does not exist at the root of input artifact Src (nor appspec.yaml)"
        );
        std::fs::write(dir.path().join("appspec.yaml"), b"version: 0.0\nos: \xff\n").unwrap();
        let unreadable = read_appspec(&input(dir.path())).unwrap_err();
        assert!(
            unreadable.starts_with("appspec.yaml in input artifact Src: ")
                && unreadable.contains("UTF-8"),
            "{unreadable}"
        );
    }
}
