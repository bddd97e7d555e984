//! One rule for turning a name users chose (a pipeline, stage or action name,
//! a cache folder) into one component of a path under the state folder.

/// `name` as a single path component: every character outside
/// `[A-Za-z0-9._@-]` (the characters CodePipeline allows in pipeline, stage
/// and action names) becomes `_`, and a result that is empty or only dots
/// gets a leading `_`, so it never names a folder's parent or the folder
/// itself. Names that validation accepts come out unchanged.
pub fn path_component(name: &str) -> String {
    let mut out: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "._@-".contains(c) {
                c
            } else {
                '_'
            }
        })
        .collect();
    if out.chars().all(|c| c == '.') {
        out.insert(0, '_');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::path_component;

    #[test]
    fn valid_names_are_kept_and_others_stay_one_component() {
        assert_eq!(path_component("Build-1.x@v_2"), "Build-1.x@v_2");
        assert_eq!(path_component(".m2"), ".m2");
        assert_eq!(path_component("a/b c"), "a_b_c");
        assert_eq!(path_component("../x"), ".._x");
        assert_eq!(path_component(".."), "_..");
        assert_eq!(path_component("."), "_.");
        assert_eq!(path_component(""), "_");
        assert_eq!(path_component("é"), "_");
    }
}
