//! AWS Elastic Beanstalk deploys: the application bundle checked.

use super::*;

pub(super) fn elastic_beanstalk(cx: &Context) -> Result<Done, String> {
    let app = cx.required("ApplicationName")?;
    let env = cx.required("EnvironmentName")?;
    let input = cx.sole_input()?;
    Ok(Done {
        summary: format!(
            "Recorded a deployment of {} to {app}/{env} (not run locally)",
            input.name
        ),
        ..Done::default()
    })
}
