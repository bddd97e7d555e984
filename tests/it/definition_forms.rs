//! One pipeline written in each form the model reads gives the same typed
//! pipeline: API JSON with a projects file, and a CloudFormation YAML
//! template with its projects inside.


use crate::common::fixture;
use pipelocal_model::pipeline::{load_pipeline, Pipeline};
use pipelocal_model::project::{load_projects, BuildspecSource, Project};

/// The parts of a pipeline that decide how it runs.
fn shape(p: &Pipeline) -> Vec<String> {
    let mut out = vec![p.name.clone()];
    for (stage, a) in p.actions() {
        out.push(format!(
            "{}/{} {} order={} ns={:?} in={:?} out={:?} config={:?}",
            stage.name,
            a.name,
            a.action_type_id,
            a.run_order,
            a.namespace,
            a.inputs().collect::<Vec<_>>(),
            a.outputs().collect::<Vec<_>>(),
            a.configuration
        ));
    }
    out
}

fn project<'a>(projects: &'a [Project], name: &str) -> &'a Project {
    projects
        .iter()
        .find(|p| p.name == name)
        .unwrap_or_else(|| panic!("no project {name}"))
}

#[test]
fn api_json_and_cloudformation_yaml_agree() {
    let api = load_pipeline(&fixture("example/pipeline.json"), None)
        .unwrap()
        .into_valid()
        .unwrap();
    let cfn = load_pipeline(&fixture("example/pipeline.yaml"), None)
        .unwrap()
        .into_valid()
        .unwrap();
    assert_eq!(shape(&api.pipeline), shape(&cfn.pipeline));

    let listed = load_projects(&fixture("example/projects.json")).unwrap();
    for name in ["greeter-build", "greeter-smoke"] {
        let (a, b) = (project(&listed, name), project(&cfn.projects, name));
        assert_eq!(a.environment.image, b.environment.image, "{name}");
        assert_eq!(a.timeout_in_minutes, b.timeout_in_minutes, "{name}");
        assert_eq!(
            a.environment.environment_variables, b.environment.environment_variables,
            "{name}"
        );
        assert_eq!(a.buildspec(), b.buildspec(), "{name}");
    }
    assert!(matches!(
        project(&cfn.projects, "greeter-smoke").buildspec(),
        Some(BuildspecSource::Inline(_))
    ));
}

#[test]
fn get_pipeline_output_create_input_and_bare_declaration_all_load() {
    for f in [
        "pipelines/multi-input-output.get-pipeline.json",
        "pipelines/source-build-test-approve-deploy.json",
        "pipelines/s3-deploy-bare.json",
    ] {
        let loaded = load_pipeline(&fixture(f), None)
            .unwrap()
            .into_valid()
            .unwrap();
        assert!(loaded.pipeline.stages.len() >= 2, "{f}");
    }
}

#[test]
fn template_intrinsics_resolve_into_configuration_and_projects() {
    let loaded = load_pipeline(&fixture("pipelines/template-with-projects.json"), None)
        .unwrap()
        .into_valid()
        .unwrap();
    let p = &loaded.pipeline;
    assert_eq!(p.name, "infra-pipeline");
    let deploy = &p.stages[2].actions[0];
    assert_eq!(deploy.config("StackName"), Some("infra-prod"));
    assert_eq!(
        deploy.config("ParameterOverrides"),
        Some("{\"Env\": \"prod\"}")
    );
    assert_eq!(
        p.stages[0].actions[0].config("PollForSourceChanges"),
        Some("false")
    );
    let package = project(&loaded.projects, "infra-package");
    assert_eq!(
        package.environment.compute_type.as_deref(),
        Some("BUILD_GENERAL1_MEDIUM")
    );
    assert_eq!(
        package.environment.image,
        "aws/codebuild/amazonlinux2-x86_64-standard:5.0"
    );
    assert!(package.environment.privileged_mode);
    assert_eq!(
        package.buildspec(),
        Some(BuildspecSource::File("buildspecs/package.yml".into()))
    );

    let cdk = load_pipeline(
        &fixture("pipelines/cdk.out/PipelineStack.template.json"),
        None,
    )
    .unwrap()
    .into_valid()
    .unwrap();
    let build = &cdk.pipeline.stages[1].actions[0];
    assert_eq!(build.config("ProjectName"), Some("BuildProject097C5DB7"));
    assert!(build
        .config("EnvironmentVariables")
        .unwrap()
        .contains("\"value\":\"us-east-1\""));
    assert_eq!(
        cdk.projects[0].environment.environment_variables[0].value,
        "PipelineStack"
    );
}

#[test]
fn several_pipelines_in_one_template_need_a_name() {
    let dir = tempfile::tempdir().unwrap();
    let text = std::fs::read_to_string(fixture("example/pipeline.yaml")).unwrap();
    let second = text
        .split("  Pipeline:\n")
        .nth(1)
        .unwrap()
        .replace("Name: greeter\n", "Name: greeter-two\n");
    let path = dir.path().join("two.yaml");
    std::fs::write(&path, format!("{text}  PipelineTwo:\n{second}")).unwrap();
    let err = load_pipeline(&path, None).unwrap_err().to_string();
    assert!(
        err.contains(
            "the template holds 2 pipelines (greeter, greeter-two); choose one with --name"
        ),
        "{err}"
    );
    let two = load_pipeline(&path, Some("greeter-two")).unwrap();
    assert_eq!(two.pipeline.name, "greeter-two");
}
