//! The buildspec fixtures read into the values their keys say.

use std::path::Path;

use pipelocal_model::buildspec::*;

fn load(name: &str) -> Buildspec {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../fixtures/buildspecs")
        .join(name);
    let loaded = load_buildspec(&path).unwrap_or_else(|e| panic!("{e}"));
    assert!(loaded.warnings.is_empty(), "{:?}", loaded.warnings);
    loaded.buildspec
}

#[test]
fn complete_02_reads_every_key() {
    let b = load("complete-0.2.yml");
    assert_eq!(b.run_as.as_deref(), Some("root"));
    assert_eq!(b.env.shell.as_deref(), Some("bash"));
    assert!(b
        .env
        .variables
        .contains(&("LITERAL".into(), "$HOME/not-expanded".into())));
    assert!(b.env.variables.contains(&("ENABLED".into(), "true".into())));
    assert_eq!(
        b.env.parameter_store,
        vec![("DB_PASSWORD".into(), "/app/prod/db-password".into())]
    );
    let (name, secret) = &b.env.secrets_manager[0];
    assert_eq!(
        (
            name.as_str(),
            secret.secret_id.as_str(),
            secret.json_key.as_deref()
        ),
        ("API_TOKEN", "app/api", Some("token"))
    );
    assert_eq!(
        b.env.exported_variables,
        vec!["IMAGE_TAG", "CODEBUILD_BUILD_NUMBER"]
    );
    assert!(b.env.git_credential_helper);
    assert_eq!(b.proxy, Proxy::default());
    let names: Vec<PhaseName> = b.phases.iter().map(|(n, _)| *n).collect();
    assert_eq!(names, PhaseName::ALL.to_vec());
    let install = b.phase(PhaseName::Install).unwrap();
    assert_eq!(install.on_failure, Some(OnFailure::Abort));
    assert_eq!(
        install.runtime_versions,
        vec![
            ("python".into(), "3.12".into()),
            ("nodejs".into(), "$NODE_VERSION".into())
        ]
    );
    assert_eq!(install.finally.len(), 1);
    assert_eq!(
        b.phase(PhaseName::PreBuild).unwrap().on_failure,
        Some(OnFailure::Retry {
            count: 2,
            pattern: Some(".*timed out.*".into())
        })
    );
    let build = b.phase(PhaseName::Build).unwrap();
    assert_eq!(build.commands.len(), 2);
    assert!(build.commands[0].text.contains("make all\nfi"));
    assert_eq!(
        build.commands[1].text,
        "python -m pytest --junitxml=reports/junit.xml"
    );
    assert_eq!(build.commands[0].line, Some(44));
    assert_eq!(b.reports.len(), 2);
    assert_eq!(b.reports[1].file_format, ReportFormat::CoberturaXml);
    assert!(b.reports[0].discard_paths);
    let a = b.artifacts.unwrap();
    assert_eq!(a.primary.files, vec!["dist/**/*", "appspec.yml"]);
    assert_eq!(a.primary.exclude_paths, vec!["dist/**/*.map"]);
    assert!(a.primary.enable_symlinks);
    assert_eq!(a.primary.s3_prefix.as_deref(), Some("builds"));
    assert_eq!(
        a.secondary
            .iter()
            .map(|(id, _)| id.as_str())
            .collect::<Vec<_>>(),
        vec!["logs", "docs"]
    );
    let cache = b.cache.unwrap();
    assert_eq!(cache.action, Some(CacheAction::Restore));
    assert_eq!(cache.fallback_keys, vec!["pip-"]);
}

#[test]
fn version_01() {
    let b = load("version-0.1.yml");
    assert_eq!(b.version, BuildspecVersion::V0_1);
    assert_eq!(b.env.variables, vec![("GREETING".into(), "hello".into())]);
}

#[test]
fn batch_kinds() {
    let list = load("batch-list.yml").batch.unwrap();
    assert!(list.fast_fail);
    let BatchKind::List(tasks) = list.kind else {
        panic!("not a list")
    };
    assert_eq!(tasks[1].env.privileged_mode, Some(true));
    assert!(tasks[1].ignore_failure);
    assert_eq!(
        tasks[0].env.variables,
        vec![("TARGET".into(), "linux".into())]
    );

    let BatchKind::Graph(graph) = load("batch-graph.yml").batch.unwrap().kind else {
        panic!("not a graph")
    };
    assert_eq!(graph[3].depend_on, vec!["unit", "integration"]);
    assert!(graph[3].debug_session);

    let BatchKind::Matrix(m) = load("batch-matrix.yml").batch.unwrap().kind else {
        panic!("not a matrix")
    };
    assert_eq!(
        m.buildspecs.len() * m.images.len() * m.variables[0].1.len(),
        12
    );

    let fanout = load("batch-fanout.yml").batch.unwrap().kind;
    assert_eq!(
        fanout,
        BatchKind::Fanout {
            parallelism: 5,
            ignore_failure: false
        }
    );
}
