//! Stage conditions (V2; CodePipeline User Guide, "Configure conditions for a stage"): `beforeEntry`, `onSuccess`
//! and `onFailure` hold conditions of rules; a condition is met when every
//! rule succeeds. `VariableCheck` is evaluated for real; other rule types
//! cannot be judged locally and are recorded as met.

use pipelocal_model::pipeline::variables::substitute;
use pipelocal_model::pipeline::{Condition, Rule};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum RuleStatus {
    Succeeded,
    Failed,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RuleOutcome {
    pub rule_name: String,
    pub provider: String,
    pub status: RuleStatus,
    pub summary: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ConditionOutcome {
    pub met: bool,
    pub rules: Vec<RuleOutcome>,
}

impl ConditionOutcome {
    pub fn summary(&self) -> String {
        match self.rules.iter().find(|r| r.status == RuleStatus::Failed) {
            Some(r) => format!("rule {} failed: {}", r.rule_name, r.summary),
            None => "all rules succeeded".into(),
        }
    }
}

/// Evaluates every rule of a condition, in order; `lookup` resolves
/// `#{Namespace.Key}` references.
pub fn evaluate<F>(condition: &Condition, lookup: F) -> ConditionOutcome
where
    F: Fn(&str, &str) -> Option<String> + Copy,
{
    let rules: Vec<RuleOutcome> = condition.rules.iter().map(|r| rule(r, lookup)).collect();
    ConditionOutcome {
        met: rules.iter().all(|r| r.status == RuleStatus::Succeeded),
        rules,
    }
}

fn rule<F>(r: &Rule, lookup: F) -> RuleOutcome
where
    F: Fn(&str, &str) -> Option<String> + Copy,
{
    let outcome = |status, summary: String| RuleOutcome {
        rule_name: r.name.clone(),
        provider: r.rule_type_id.provider.clone(),
        status,
        summary,
    };
    if r.rule_type_id.provider != "VariableCheck" {
        return outcome(
            RuleStatus::Succeeded,
            format!(
                "{} rules are not evaluated locally: counted as met",
                r.rule_type_id.provider
            ),
        );
    }
    let get = |key: &str| r.configuration.get(key).map(String::as_str).unwrap_or("");
    let variable = match substitute(get("Variable"), lookup) {
        Ok(v) => v,
        Err(reference) => {
            return outcome(
                RuleStatus::Failed,
                format!(
                    "the variable #{{{}.{}}} could not be resolved",
                    reference.namespace, reference.key
                ),
            )
        }
    };
    let value = get("Value");
    let passed = match get("Operator") {
        "EQ" => Ok(variable == value),
        "NE" => Ok(variable != value),
        "CONTAINS" => Ok(variable.contains(value)),
        // Java's regex syntax, read by Rust's regex crate: the common subset agrees.
        "MATCHES" => regex::Regex::new(&format!("^(?:{value})$"))
            .map(|re| re.is_match(&variable))
            .map_err(|e| format!("Value is not a regular expression: {e}")),
        other => Err(format!(
            "Operator must be EQ, NE, CONTAINS or MATCHES, not {other}"
        )),
    };
    match passed {
        Ok(true) => outcome(
            RuleStatus::Succeeded,
            format!("{variable} {} {value}", get("Operator")),
        ),
        Ok(false) => outcome(
            RuleStatus::Failed,
            format!("{variable} is not {} {value}", get("Operator")),
        ),
        Err(message) => outcome(RuleStatus::Failed, message),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(variable: &str, operator: &str, value: &str) -> ConditionOutcome {
        let condition: Condition = serde_json::from_value(serde_json::json!({
            "result": "FAIL",
            "rules": [{
                "name": "Check",
                "ruleTypeId": {"category": "Rule", "owner": "AWS", "provider": "VariableCheck", "version": "1"},
                "configuration": {"Variable": variable, "Value": value, "Operator": operator}
            }]
        }))
        .unwrap();
        evaluate(&condition, |ns, key| {
            (ns == "Build" && key == "Env").then(|| "production".to_string())
        })
    }

    #[test]
    fn variable_checks_compare_resolved_values() {
        assert!(check("#{Build.Env}", "EQ", "production").met);
        assert!(!check("#{Build.Env}", "NE", "production").met);
        assert!(check("#{Build.Env}", "CONTAINS", "duct").met);
        assert!(check("#{Build.Env}", "MATCHES", "prod.*").met);
        assert!(
            !check("#{Build.Env}", "MATCHES", "prod").met,
            "the whole value must match"
        );
        let missing = check("#{Build.Nope}", "EQ", "x");
        assert!(!missing.met);
        assert!(missing
            .summary()
            .contains("#{Build.Nope} could not be resolved"));
        assert!(check("#{Build.Env}", "LT", "x")
            .summary()
            .contains("Operator must be"));
    }
}
