//! Amazon S3 deploy: the one emulation that really writes, into the local
//! bucket folder (CodePipeline User Guide, "Amazon S3 deploy action reference").

use pipelocal_runner::artifacts::extract::unzip;

use super::*;

pub(super) fn s3_deploy(cx: &Context) -> Result<Done, String> {
    let bucket = cx.required("BucketName")?;
    let extract = match cx.required("Extract")? {
        "true" => true,
        "false" => false,
        other => {
            return Err(format!(
                "Extract must be \"true\" or \"false\", not \"{other}\""
            ))
        }
    };
    const ACLS: &[&str] = &[
        "private",
        "public-read",
        "public-read-write",
        "authenticated-read",
        "aws-exec-read",
        "bucket-owner-read",
        "bucket-owner-full-control",
        "log-delivery-write",
    ];
    if let Some(acl) = cx.get("CannedACL") {
        if !ACLS.contains(&acl) {
            return Err(format!("CannedACL {acl} is not one of {}", ACLS.join(", ")));
        }
    }
    let input = cx.sole_input()?;
    let s3 = cx.state_dir.join("s3");
    let mut done = Done::default();
    if extract {
        let prefix = cx.get("ObjectKey").unwrap_or("");
        let target = s3_path(&s3, bucket, prefix)?;
        std::fs::create_dir_all(&target).map_err(|e| format!("{}: {e}", target.display()))?;
        let zip = &cx.input_zips[&input.name];
        let count = unzip(zip, &target).map_err(|e| e.to_string())?;
        done.lines.push(format!(
            "Extracted {count} entries of {} to {}",
            input.name,
            target.display()
        ));
        done.summary = format!("Deployed {} to s3://{bucket}/{prefix}", input.name);
    } else {
        let key = cx
            .get("ObjectKey")
            .ok_or("ObjectKey is required when Extract is false")?;
        let target = s3_path(&s3, bucket, key)?;
        if let Some(parent) = target.parent() {
            std::fs::create_dir_all(parent).map_err(|e| format!("{}: {e}", parent.display()))?;
        }
        std::fs::copy(&cx.input_zips[&input.name], &target)
            .map_err(|e| format!("{}: {e}", target.display()))?;
        done.lines
            .push(format!("Wrote {} to {}", input.name, target.display()));
        done.summary = format!("Deployed {} to s3://{bucket}/{key}", input.name);
    }
    Ok(done)
}
