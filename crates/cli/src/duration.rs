//! Durations on the command line.

use std::time::Duration;

/// `90s`, `5m`, `1h`, or a bare number of minutes (CodeBuild's unit).
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let t = text.trim();
    let (digits, unit) = t.split_at(t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len()));
    let n: u64 = digits
        .parse()
        .map_err(|_| format!("invalid duration '{text}': use 90s, 5m or 1h"))?;
    let unit_secs: u64 = match unit {
        "s" => 1,
        "m" | "" => 60,
        "h" => 3600,
        _ => return Err(format!("invalid duration '{text}': use 90s, 5m or 1h")),
    };
    let secs = n
        .checked_mul(unit_secs)
        .ok_or_else(|| format!("invalid duration '{text}': too long"))?;
    if secs == 0 {
        return Err(format!("invalid duration '{text}': must be more than zero"));
    }
    Ok(Duration::from_secs(secs))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(parse_duration("90s"), Ok(Duration::from_secs(90)));
        assert_eq!(parse_duration("5m"), Ok(Duration::from_secs(300)));
        assert_eq!(parse_duration("2h"), Ok(Duration::from_secs(7200)));
        assert_eq!(parse_duration("10"), Ok(Duration::from_secs(600)));
        assert!(parse_duration("5 minutes").is_err());
        assert!(parse_duration("0s").is_err());
        assert!(parse_duration("999999999999999999h").is_err());
    }
}
