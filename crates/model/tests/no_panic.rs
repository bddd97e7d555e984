//! Property tests: random and mutated definitions never make a parser panic.

use std::path::Path;

use pipelocal_model::buildspec::parse_buildspec;
use pipelocal_model::{cloud, detect, pipeline, project, Document};
use proptest::prelude::*;

fn fixture_texts() -> Vec<(String, String)> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures");
    walkdir::WalkDir::new(root)
        .into_iter()
        .filter_map(Result::ok)
        .filter(|e| e.file_type().is_file())
        .filter_map(|e| {
            let name = e.path().file_name()?.to_str()?.to_string();
            let text = std::fs::read_to_string(e.path()).ok()?;
            Some((name, text))
        })
        .collect()
}

/// Runs every loader that could apply; the point is that none panics.
fn load_everything(name: &str, text: &str) {
    let path = Path::new(name);
    let _ = parse_buildspec(path, text.to_string());
    if let Ok(doc) = Document::parse(path, text.to_string()) {
        let _ = detect(&doc);
        let _ = pipeline::pipeline_from_document(&doc, None);
        let _ = project::projects_from_document(&doc);
        // Cloud records, checked against the pipeline of fixtures/cloud.
        let shop = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/cloud/pipeline.json");
        let shop = Document::read(&shop)
            .and_then(|d| pipeline::pipeline_from_document(&d, None))
            .map(|l| l.pipeline);
        if let (Ok(execution), Ok(shop)) = (cloud::pipeline_execution_from_document(&doc), &shop) {
            let _ = execution.check(shop);
        }
        if let (Ok(details), Ok(shop)) = (cloud::action_executions_from_document(&doc), &shop) {
            let _ = cloud::check_action_executions(&details, shop);
        }
    }
}

#[derive(Debug, Clone)]
enum Mutation {
    DeleteLine(usize),
    DuplicateLine(usize),
    ReplaceChar(usize, char),
    Truncate(usize),
    SwapLines(usize, usize),
}

fn apply(text: &str, m: &Mutation) -> String {
    let mut lines: Vec<&str> = text.lines().collect();
    let n = lines.len().max(1);
    match *m {
        Mutation::DeleteLine(i) => {
            if !lines.is_empty() {
                lines.remove(i % n);
            }
            lines.join("\n")
        }
        Mutation::DuplicateLine(i) => {
            if !lines.is_empty() {
                let l = lines[i % n];
                lines.insert(i % n, l);
            }
            lines.join("\n")
        }
        Mutation::SwapLines(a, b) => {
            if !lines.is_empty() {
                lines.swap(a % n, b % n);
            }
            lines.join("\n")
        }
        Mutation::ReplaceChar(i, c) => {
            let mut chars: Vec<char> = text.chars().collect();
            if !chars.is_empty() {
                let at = i % chars.len();
                chars[at] = c;
            }
            chars.into_iter().collect()
        }
        Mutation::Truncate(i) => text.chars().take(i % (text.chars().count() + 1)).collect(),
    }
}

fn mutation() -> impl Strategy<Value = Mutation> {
    let special = prop::sample::select(vec![
        '{', '}', '[', ']', ':', '-', '\t', '"', '\'', '!', '#', '&', '*', '\n', ' ', '0', 'x',
        '|', '>', '$',
    ]);
    prop_oneof![
        any::<usize>().prop_map(Mutation::DeleteLine),
        any::<usize>().prop_map(Mutation::DuplicateLine),
        (any::<usize>(), any::<usize>()).prop_map(|(a, b)| Mutation::SwapLines(a, b)),
        (any::<usize>(), special).prop_map(|(i, c)| Mutation::ReplaceChar(i, c)),
        any::<usize>().prop_map(Mutation::Truncate),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn mutated_fixtures_never_panic(index in any::<usize>(), mutations in prop::collection::vec(mutation(), 1..4)) {
        let texts = fixture_texts();
        prop_assume!(!texts.is_empty());
        let (name, text) = &texts[index % texts.len()];
        let mut mutated = text.clone();
        for m in &mutations {
            mutated = apply(&mutated, m);
        }
        load_everything(name, &mutated);
    }

    #[test]
    fn random_text_never_panics(text in "\\PC{0,400}") {
        load_everything("random.yml", &text);
        load_everything("random.json", &text);
    }

    #[test]
    fn random_yaml_shapes_never_panic(text in "(version: 0\\.[12]\n)?(phases|env|batch|artifacts|Resources|stages|pipeline)?:?( |\n  )?[-a-z:{}\\[\\] !\n]{0,200}") {
        load_everything("shaped.yml", &text);
    }
}
