//! AWS Step Functions invocations: the input checked, the execution recorded.

use serde_json::Value;

use super::*;

pub(super) fn step_functions(cx: &Context) -> Result<Done, String> {
    let machine = cx.required("StateMachineArn")?;
    let input = match cx.get("InputType").unwrap_or("Literal") {
        "Literal" => cx.get("Input").unwrap_or("{}").to_string(),
        "FilePath" => {
            let path = cx.required("Input")?;
            read_in(cx.sole_input()?, path)?
        }
        other => {
            return Err(format!(
                "InputType must be Literal or FilePath, not {other}"
            ))
        }
    };
    serde_json::from_str::<Value>(&input).map_err(|e| format!("Input is not valid JSON: {e}"))?;
    Ok(Done {
        summary: format!("Recorded a start of {machine} (not run locally)"),
        lines: vec![format!("input: {input}")],
        ..Done::default()
    })
}
