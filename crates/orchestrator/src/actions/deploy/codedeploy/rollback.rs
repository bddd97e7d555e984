//! Automatic rollback of a failed in-place deployment (CodeDeploy User
//! Guide, "Redeploy and roll back a deployment with CodeDeploy"): when the
//! template's deployment group enables it for `DEPLOYMENT_FAILURE`, a new
//! deployment, with an id of its own, redeploys the last revision that
//! succeeded on the instance, through the same lifecycle. The failed
//! deployment stays failed.

use pipelocal_model::codedeploy::AutoRollback;

use super::super::Local;
use super::instance::Instance;
use super::lifecycle::{
    self, archive_of, bundle_env_of, instructions, read_env, Bundle, Deployment, LAST_GOOD,
};

/// What became of the rollback after a failure.
pub enum Rollback {
    /// The deployment group does not roll back on failure.
    Off,
    /// Nothing succeeded on this instance before.
    NothingToRedeploy,
    Succeeded {
        id: String,
        redeployed: String,
    },
    Failed {
        id: String,
        message: String,
    },
}

impl Rollback {
    /// What the action's error adds about it.
    pub fn said(&self) -> String {
        match self {
            Rollback::Off => String::new(),
            Rollback::NothingToRedeploy => {
                " Automatic rollback: no earlier deployment succeeded on this instance, nothing was redeployed.".into()
            }
            Rollback::Succeeded { id, redeployed } => format!(
                " Automatic rollback: deployment {id} redeployed the revision of {redeployed} and succeeded."
            ),
            Rollback::Failed { id, message } => {
                format!(" Automatic rollback: deployment {id} failed too: {message}")
            }
        }
    }
}

/// Rolls `failed` back when `auto` says so.
pub async fn after_failure(
    instance: &Instance,
    failed: &Deployment<'_>,
    auto: &AutoRollback,
    local: &Local<'_>,
) -> Result<Rollback, String> {
    if !auto.on_failure() || local.stop.is_stopped() {
        return Ok(Rollback::Off);
    }
    let good = instance
        .read(&instructions(failed.group_id, LAST_GOOD))
        .await?
        .map(|d| d.trim().to_string())
        .filter(|d| !d.is_empty());
    let Some(good) = good else {
        local.say(format!(
            "Automatic rollback of {}: no earlier deployment succeeded on this instance",
            failed.id
        ));
        return Ok(Rollback::NothingToRedeploy);
    };
    let redeployed = good.rsplit('/').next().unwrap_or(&good).to_string();
    let mut rollback = Deployment::new(failed.application, failed.group, failed.group_id);
    if let Some(env) = instance.read(&bundle_env_of(&good)).await? {
        rollback.bundle = read_env(&env);
    }
    local.say(format!(
        "Automatic rollback of {}: deployment {} redeploys the last successful revision (of {redeployed})",
        failed.id, rollback.id
    ));
    let bundle = Bundle::Earlier(archive_of(&good));
    Ok(
        match lifecycle::deploy(instance, &rollback, bundle, None, local).await {
            Ok(()) => {
                local.say(format!("Rollback deployment {} succeeded", rollback.id));
                Rollback::Succeeded {
                    id: rollback.id,
                    redeployed,
                }
            }
            Err(f) => {
                local.say(format!(
                    "Rollback deployment {} failed: {}",
                    rollback.id, f.message
                ));
                Rollback::Failed {
                    id: rollback.id,
                    message: f.message,
                }
            }
        },
    )
}
