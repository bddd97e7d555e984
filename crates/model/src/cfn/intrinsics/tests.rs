use super::*;
use crate::document::Document;
use std::path::Path;

fn resolve(text: &str, expr: &str) -> (Option<Value>, Vec<Problem>) {
    let doc = Document::parse(Path::new("t.yaml"), format!("{text}\nX: {expr}\n")).unwrap();
    let t = Template::from_document(&doc).unwrap();
    let mut r = Resolver::new(&t);
    let v = r.resolve(&doc.value["X"], &DocPath::root().key("X"));
    (v, r.problems)
}

const T: &str = "Parameters:\n  Env: {Type: String, Default: dev}\nConditions:\n  IsDev: !Equals [!Ref Env, dev]\nResources:\n  Proj: {Type: 'AWS::CodeBuild::Project', Properties: {Name: !Sub '${Env}-build'}}\n  Role: {Type: 'AWS::IAM::Role'}\n  Bucket: {Type: 'AWS::S3::Bucket'}\n  CR: {Type: 'Custom::Thing'}";

#[test]
fn ref_sub_join_if() {
    assert_eq!(resolve(T, "!Ref Proj").0, Some("dev-build".into()));
    assert_eq!(
        resolve(T, "!GetAtt Role.Arn").0,
        Some("arn:aws:iam::123456789012:role/Role".into())
    );
    assert_eq!(
        resolve(T, "!Sub '${AWS::Region}-${Bucket}-${!Lit}'").0,
        Some("us-east-1-Bucket-${Lit}".into())
    );
    assert_eq!(
        resolve(T, "!Join ['-', [a, !Ref Env]]").0,
        Some("a-dev".into())
    );
    assert_eq!(
        resolve(T, "!If [IsDev, yes-dev, no-dev]").0,
        Some("yes-dev".into())
    );
    assert_eq!(
        resolve(T, "!Select [1, !Split [',', 'a,b,c']]").0,
        Some("b".into())
    );
    assert_eq!(resolve(T, "!Base64 hello").0, Some("aGVsbG8=".into()));
}

#[test]
fn unresolvable_values_are_named() {
    let (v, problems) = resolve(T, "{Name: !Ref Missing}");
    assert!(v.is_some());
    assert_eq!(problems.len(), 1);
    assert!(problems[0].is_error());
    assert!(problems[0]
        .message
        .contains("'Missing' is neither a parameter nor a resource"));
}

#[test]
fn values_nobody_gave_get_one_placeholder_and_one_warning_each() {
    let text = T.replace(
        "Env: {Type: String, Default: dev}",
        "Env: {Type: String, Default: dev}\n  App: {Type: String}",
    );
    let doc = Document::parse(
        Path::new("t.yaml"),
        format!("{text}\nX: [!Sub '${{App}}-a', !Sub '${{App}}-b', !ImportValue shared-vpc, !GetAtt CR.Out]\n"),
    )
    .unwrap();
    let t = Template::from_document(&doc).unwrap();
    let mut r = Resolver::new(&t);
    let v = r
        .resolve(&doc.value["X"], &DocPath::root().key("X"))
        .unwrap();
    assert_eq!(
        v,
        serde_json::json!(["param-App-a", "param-App-b", "import-shared-vpc", "CR-Out"])
    );
    assert!(r.problems.is_empty(), "{:?}", r.problems);
    let warnings = r.placeholder_warnings();
    assert_eq!(warnings.len(), 3, "{warnings:?}");
    assert!(warnings.iter().all(|w| !w.is_error()));
    let app = warnings
        .iter()
        .find(|w| w.message.contains("parameter 'App'"))
        .unwrap();
    assert!(
        app.message.contains("--parameter App=..."),
        "{}",
        app.message
    );
    // Given, the value is used and nothing is said.
    let t = Template::from_document(&doc)
        .unwrap()
        .with_parameters(&BTreeMap::from([("App".into(), "shop".into())]));
    let mut r = Resolver::new(&t);
    let v = r.resolve(&doc.value["X"][0], &DocPath::root()).unwrap();
    assert_eq!(v, Value::String("shop-a".into()));
    assert!(r.placeholder_warnings().is_empty());
}
