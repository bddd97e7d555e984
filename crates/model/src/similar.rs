//! "Did you mean" suggestions for names a user probably mistyped.

/// Edit distance counting a swap of neighbours as one edit (optimal string
/// alignment), the commonest typo.
use strsim::osa_distance as distance;

/// The candidate closest to `wanted`, if it is close enough to be a typo.
pub fn closest<'a>(wanted: &str, candidates: impl Iterator<Item = &'a str>) -> Option<&'a str> {
    let limit = (wanted.chars().count() / 3).max(1);
    let wanted = wanted.to_ascii_lowercase();
    candidates
        .map(|c| {
            let lower = c.to_ascii_lowercase();
            // A name abbreviated (`BuildVars` for `BuildVariables`) is a typo too.
            let common = wanted
                .chars()
                .zip(lower.chars())
                .take_while(|(a, b)| a == b)
                .count();
            let shorter = wanted.len().min(lower.len());
            let truncated = common >= 5 && common * 3 >= shorter * 2;
            let d = distance(&wanted, &lower);
            (if truncated { d.min(limit) } else { d }, c)
        })
        .filter(|(d, _)| *d <= limit)
        .min_by_key(|(d, c)| (*d, *c))
        .map(|(_, c)| c)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suggests_near_names_only() {
        assert_eq!(distance("kitten", "sitting"), 3);
        assert_eq!(distance("Scr", "Src"), 1);
        assert_eq!(
            closest("BuildOutpt", ["BuildOutput", "SourceOutput"].into_iter()),
            Some("BuildOutput")
        );
        assert_eq!(closest("Zzz", ["BuildOutput"].into_iter()), None);
        assert_eq!(
            closest("BuildVars", ["BuildVariables"].into_iter()),
            Some("BuildVariables")
        );
    }
}
