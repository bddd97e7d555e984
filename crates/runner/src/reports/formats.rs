//! Readers for every report format CodeBuild takes (CodeBuild User Guide, "Test reports"): six
//! test formats and four coverage formats.

use pipelocal_model::buildspec::ReportFormat;
use serde_json::Value;

use super::xml::{parse as parse_xml, Element};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum CaseStatus {
    Succeeded,
    Failed,
    Error,
    Skipped,
    Unknown,
}

impl CaseStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            CaseStatus::Succeeded => "SUCCEEDED",
            CaseStatus::Failed => "FAILED",
            CaseStatus::Error => "ERROR",
            CaseStatus::Skipped => "SKIPPED",
            CaseStatus::Unknown => "UNKNOWN",
        }
    }

    pub fn is_failure(self) -> bool {
        matches!(self, CaseStatus::Failed | CaseStatus::Error)
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct TestCase {
    pub prefix: String,
    pub name: String,
    pub status: CaseStatus,
    pub duration_ns: u64,
    pub message: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Coverage {
    pub lines_covered: u64,
    pub lines_missed: u64,
    pub branches_covered: u64,
    pub branches_missed: u64,
}

impl Coverage {
    pub fn add(&mut self, other: Coverage) {
        self.lines_covered += other.lines_covered;
        self.lines_missed += other.lines_missed;
        self.branches_covered += other.branches_covered;
        self.branches_missed += other.branches_missed;
    }
}

#[derive(Debug, Clone, PartialEq)]
pub enum Parsed {
    Tests(Vec<TestCase>),
    Coverage(Coverage),
}

pub fn parse(format: ReportFormat, text: &str) -> Result<Parsed, String> {
    match format {
        ReportFormat::CucumberJson => cucumber(text).map(Parsed::Tests),
        ReportFormat::SimpleCov => simplecov(text).map(Parsed::Coverage),
        _ => {
            let root = parse_xml(text)?;
            match format {
                ReportFormat::JunitXml => Ok(Parsed::Tests(junit(&root))),
                ReportFormat::NunitXml => Ok(Parsed::Tests(nunit2(&root))),
                ReportFormat::Nunit3Xml => Ok(Parsed::Tests(nunit3(&root))),
                ReportFormat::TestNgXml => Ok(Parsed::Tests(testng(&root))),
                ReportFormat::VisualStudioTrx => Ok(Parsed::Tests(trx(&root))),
                ReportFormat::CoberturaXml => cobertura(&root).map(Parsed::Coverage),
                ReportFormat::CloverXml => clover(&root).map(Parsed::Coverage),
                ReportFormat::JacocoXml => jacoco(&root).map(Parsed::Coverage),
                ReportFormat::CucumberJson | ReportFormat::SimpleCov => {
                    unreachable!("JSON formats are read above")
                }
            }
        }
    }
}

fn seconds_ns(text: Option<&str>) -> u64 {
    text.and_then(|t| t.trim().replace(',', "").parse::<f64>().ok())
        .map(|s| (s * 1e9) as u64)
        .unwrap_or(0)
}

fn split_name(full: &str) -> (String, String) {
    match full.rsplit_once('.') {
        Some((prefix, name)) => (prefix.to_string(), name.to_string()),
        None => (String::new(), full.to_string()),
    }
}

fn message_of(e: Option<&Element>) -> Option<String> {
    let e = e?;
    let text = e
        .attr("message")
        .map(String::from)
        .filter(|m| !m.is_empty())
        .or_else(|| {
            let t = e
                .child("message")
                .map(Element::all_text)
                .unwrap_or_else(|| e.all_text());
            (!t.is_empty()).then_some(t)
        });
    text
}

fn junit(root: &Element) -> Vec<TestCase> {
    let cases = if root.name == "testcase" {
        vec![root]
    } else {
        root.descendants("testcase")
    };
    cases
        .into_iter()
        .map(|c| {
            let (status, detail) = if let Some(f) = c.child("failure") {
                (CaseStatus::Failed, Some(f))
            } else if let Some(e) = c.child("error") {
                (CaseStatus::Error, Some(e))
            } else if let Some(s) = c.child("skipped") {
                (CaseStatus::Skipped, Some(s))
            } else {
                (CaseStatus::Succeeded, None)
            };
            TestCase {
                prefix: c.attr("classname").unwrap_or_default().to_string(),
                name: c.attr("name").unwrap_or_default().to_string(),
                status,
                duration_ns: seconds_ns(c.attr("time")),
                message: message_of(detail),
            }
        })
        .collect()
}

fn nunit2(root: &Element) -> Vec<TestCase> {
    root.descendants("test-case")
        .into_iter()
        .map(|c| {
            let status = match (c.attr("executed"), c.attr("result")) {
                (Some("False"), _) => CaseStatus::Skipped,
                (_, Some("Success")) => CaseStatus::Succeeded,
                (_, Some("Failure")) => CaseStatus::Failed,
                (_, Some("Error")) => CaseStatus::Error,
                (_, Some("Ignored" | "Skipped" | "NotRunnable")) => CaseStatus::Skipped,
                _ => CaseStatus::Unknown,
            };
            let (prefix, name) = split_name(c.attr("name").unwrap_or_default());
            TestCase {
                prefix,
                name,
                status,
                duration_ns: seconds_ns(c.attr("time")),
                message: message_of(c.child("failure").or_else(|| c.child("reason"))),
            }
        })
        .collect()
}

fn nunit3(root: &Element) -> Vec<TestCase> {
    root.descendants("test-case")
        .into_iter()
        .map(|c| {
            let status = match (c.attr("result"), c.attr("label")) {
                (Some("Passed"), _) => CaseStatus::Succeeded,
                (Some("Failed"), Some("Error")) => CaseStatus::Error,
                (Some("Failed"), _) => CaseStatus::Failed,
                (Some("Skipped"), _) => CaseStatus::Skipped,
                _ => CaseStatus::Unknown,
            };
            TestCase {
                prefix: c.attr("classname").unwrap_or_default().to_string(),
                name: c.attr("name").unwrap_or_default().to_string(),
                status,
                duration_ns: seconds_ns(c.attr("duration")),
                message: message_of(c.child("failure").or_else(|| c.child("reason"))),
            }
        })
        .collect()
}

fn testng(root: &Element) -> Vec<TestCase> {
    let mut out = Vec::new();
    for class in root.descendants("class") {
        for m in class
            .children
            .iter()
            .filter(|m| m.name == "test-method" && m.attr("is-config") != Some("true"))
        {
            let status = match m.attr("status") {
                Some("PASS") => CaseStatus::Succeeded,
                Some("FAIL") => CaseStatus::Failed,
                Some("SKIP") => CaseStatus::Skipped,
                _ => CaseStatus::Unknown,
            };
            out.push(TestCase {
                prefix: class.attr("name").unwrap_or_default().to_string(),
                name: m.attr("name").unwrap_or_default().to_string(),
                status,
                duration_ns: m
                    .attr("duration-ms")
                    .and_then(|d| d.parse::<u64>().ok())
                    .unwrap_or(0)
                    * 1_000_000,
                message: message_of(m.child("exception")),
            });
        }
    }
    out
}

/// `hh:mm:ss.fffffff` as nanoseconds.
fn trx_duration(text: Option<&str>) -> u64 {
    let Some(t) = text else { return 0 };
    let parts: Vec<f64> = t.split(':').filter_map(|p| p.parse().ok()).collect();
    match parts.as_slice() {
        [h, m, s] => ((h * 3600.0 + m * 60.0 + s) * 1e9) as u64,
        _ => 0,
    }
}

fn trx(root: &Element) -> Vec<TestCase> {
    root.descendants("UnitTestResult")
        .into_iter()
        .map(|r| {
            let status = match r.attr("outcome") {
                Some("Passed") => CaseStatus::Succeeded,
                Some("Failed") => CaseStatus::Failed,
                Some("Error" | "Timeout" | "Aborted") => CaseStatus::Error,
                Some("NotExecuted" | "NotRunnable") => CaseStatus::Skipped,
                _ => CaseStatus::Unknown,
            };
            let (prefix, name) = split_name(r.attr("testName").unwrap_or_default());
            let message = r
                .child("Output")
                .and_then(|o| o.child("ErrorInfo"))
                .and_then(|e| e.child("Message"))
                .map(Element::all_text);
            TestCase {
                prefix,
                name,
                status,
                duration_ns: trx_duration(r.attr("duration")),
                message,
            }
        })
        .collect()
}

fn cucumber(text: &str) -> Result<Vec<TestCase>, String> {
    let features: Vec<Value> =
        serde_json::from_str(text).map_err(|e| format!("invalid cucumber JSON: {e}"))?;
    let mut out = Vec::new();
    for feature in &features {
        let prefix = feature
            .get("name")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string();
        for scenario in feature
            .get("elements")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            if scenario.get("type").and_then(Value::as_str) == Some("background") {
                continue;
            }
            let steps: Vec<&Value> = scenario
                .get("steps")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .collect();
            let statuses: Vec<&str> = steps
                .iter()
                .filter_map(|s| s["result"]["status"].as_str())
                .collect();
            let status = if statuses.contains(&"failed") {
                CaseStatus::Failed
            } else if statuses.iter().all(|s| *s == "passed") {
                CaseStatus::Succeeded
            } else if statuses
                .iter()
                .any(|s| matches!(*s, "skipped" | "pending" | "undefined"))
            {
                CaseStatus::Skipped
            } else {
                CaseStatus::Unknown
            };
            out.push(TestCase {
                prefix: prefix.clone(),
                name: scenario
                    .get("name")
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_string(),
                status,
                duration_ns: steps
                    .iter()
                    .filter_map(|s| s["result"]["duration"].as_u64())
                    .sum(),
                message: steps
                    .iter()
                    .find_map(|s| s["result"]["error_message"].as_str())
                    .map(String::from),
            });
        }
    }
    Ok(out)
}

fn num(e: &Element, attr: &str) -> u64 {
    e.attr(attr)
        .and_then(|v| v.parse::<f64>().ok())
        .map(|f| f as u64)
        .unwrap_or(0)
}

fn cobertura(root: &Element) -> Result<Coverage, String> {
    if root.name != "coverage" {
        return Err("not a Cobertura report: the root element is not <coverage>".into());
    }
    let (lines, lines_valid) = (num(root, "lines-covered"), num(root, "lines-valid"));
    let (branches, branches_valid) = (num(root, "branches-covered"), num(root, "branches-valid"));
    Ok(Coverage {
        lines_covered: lines,
        lines_missed: lines_valid.saturating_sub(lines),
        branches_covered: branches,
        branches_missed: branches_valid.saturating_sub(branches),
    })
}

fn clover(root: &Element) -> Result<Coverage, String> {
    let metrics = root
        .child("project")
        .and_then(|p| p.child("metrics"))
        .ok_or("not a Clover report: no <project><metrics>")?;
    let (st, cst) = (
        num(metrics, "statements"),
        num(metrics, "coveredstatements"),
    );
    let (cond, ccond) = (
        num(metrics, "conditionals"),
        num(metrics, "coveredconditionals"),
    );
    Ok(Coverage {
        lines_covered: cst,
        lines_missed: st.saturating_sub(cst),
        branches_covered: ccond,
        branches_missed: cond.saturating_sub(ccond),
    })
}

fn jacoco(root: &Element) -> Result<Coverage, String> {
    if root.name != "report" {
        return Err("not a JaCoCo report: the root element is not <report>".into());
    }
    let counter = |ty: &str| {
        root.children
            .iter()
            .find(|c| c.name == "counter" && c.attr("type") == Some(ty))
    };
    let line = counter("LINE").ok_or("not a JaCoCo report: no LINE counter")?;
    let branch = counter("BRANCH");
    Ok(Coverage {
        lines_covered: num(line, "covered"),
        lines_missed: num(line, "missed"),
        branches_covered: branch.map(|b| num(b, "covered")).unwrap_or(0),
        branches_missed: branch.map(|b| num(b, "missed")).unwrap_or(0),
    })
}

fn simplecov(text: &str) -> Result<Coverage, String> {
    let root: Value =
        serde_json::from_str(text).map_err(|e| format!("invalid SimpleCov JSON: {e}"))?;
    let suites = root.as_object().ok_or("not a SimpleCov .resultset.json")?;
    let mut cov = Coverage::default();
    for suite in suites.values() {
        for file in suite
            .get("coverage")
            .and_then(Value::as_object)
            .into_iter()
            .flat_map(|m| m.values())
        {
            let lines = file.get("lines").unwrap_or(file);
            for hits in lines.as_array().into_iter().flatten() {
                match hits.as_u64() {
                    Some(0) => cov.lines_missed += 1,
                    Some(_) => cov.lines_covered += 1,
                    None => {}
                }
            }
        }
    }
    Ok(cov)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixture(name: &str) -> String {
        std::fs::read_to_string(
            std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("../../fixtures/reports")
                .join(name),
        )
        .unwrap()
    }

    fn counts(parsed: Parsed) -> Vec<(String, CaseStatus)> {
        match parsed {
            Parsed::Tests(cases) => cases.into_iter().map(|c| (c.name, c.status)).collect(),
            Parsed::Coverage(_) => panic!("not tests"),
        }
    }

    #[test]
    fn test_formats() {
        use CaseStatus::*;
        let junit = counts(parse(ReportFormat::JunitXml, &fixture("pytest-junit.xml")).unwrap());
        assert_eq!(
            junit,
            vec![
                ("test_add".into(), Succeeded),
                ("test_divide".into(), Succeeded),
                ("test_divide_wrong".into(), Failed),
                ("test_skipped".into(), Skipped),
                ("test_error".into(), Failed)
            ]
        );
        let expected = vec![
            ("Adds".into(), Succeeded),
            ("Divides".into(), Failed),
            ("Throws".into(), Error),
            ("Later".into(), Skipped),
        ];
        assert_eq!(
            counts(parse(ReportFormat::NunitXml, &fixture("nunit2.xml")).unwrap()),
            expected
        );
        assert_eq!(
            counts(parse(ReportFormat::Nunit3Xml, &fixture("nunit3.xml")).unwrap()),
            expected
        );
        assert_eq!(
            counts(parse(ReportFormat::TestNgXml, &fixture("testng-results.xml")).unwrap()),
            vec![
                ("adds".into(), Succeeded),
                ("divides".into(), Failed),
                ("throwsBoom".into(), Failed),
                ("later".into(), Skipped)
            ]
        );
        assert_eq!(
            counts(parse(ReportFormat::VisualStudioTrx, &fixture("results.trx")).unwrap()),
            vec![
                ("Adds".into(), Succeeded),
                ("Divides".into(), Failed),
                ("Throws".into(), Failed),
                ("Later".into(), Skipped)
            ]
        );
        assert_eq!(
            counts(parse(ReportFormat::CucumberJson, &fixture("cucumber.json")).unwrap()),
            vec![
                ("Adding".into(), Succeeded),
                ("Dividing".into(), Failed),
                ("Later".into(), Skipped)
            ]
        );
        let Parsed::Tests(cases) =
            parse(ReportFormat::TestNgXml, &fixture("testng-results.xml")).unwrap()
        else {
            panic!()
        };
        assert_eq!(
            cases[1].message.as_deref(),
            Some("expected [0.5] but found [0.25]")
        );
        assert_eq!(
            (cases[1].prefix.as_str(), cases[1].duration_ns),
            ("com.example.CalcTest", 20_000_000)
        );
    }

    #[test]
    fn coverage_formats() {
        let cov = |f, name| match parse(f, &fixture(name)).unwrap() {
            Parsed::Coverage(c) => c,
            Parsed::Tests(_) => panic!("not coverage"),
        };
        assert_eq!(
            cov(ReportFormat::CoberturaXml, "coveragepy-cobertura.xml"),
            Coverage {
                lines_covered: 18,
                lines_missed: 6,
                branches_covered: 1,
                branches_missed: 3
            }
        );
        assert_eq!(
            cov(ReportFormat::CloverXml, "clover.xml"),
            Coverage {
                lines_covered: 16,
                lines_missed: 4,
                branches_covered: 3,
                branches_missed: 3
            }
        );
        assert_eq!(
            cov(ReportFormat::JacocoXml, "jacoco.xml"),
            Coverage {
                lines_covered: 12,
                lines_missed: 4,
                branches_covered: 5,
                branches_missed: 3
            }
        );
        assert_eq!(
            cov(ReportFormat::SimpleCov, "simplecov-resultset.json"),
            Coverage {
                lines_covered: 8,
                lines_missed: 3,
                branches_covered: 0,
                branches_missed: 0
            }
        );
    }

    #[test]
    fn broken_files_are_errors_not_panics() {
        assert!(parse(ReportFormat::JunitXml, "<testsuite><testcase").is_err());
        assert!(parse(ReportFormat::CucumberJson, "{").is_err());
        assert!(parse(ReportFormat::JacocoXml, "<coverage/>").is_err());
    }
}
