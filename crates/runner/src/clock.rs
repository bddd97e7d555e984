//! Time in the shapes CodeBuild prints: `2024/06/05 02:04:07.161900` in logs,
//! epoch seconds with a fraction in records, epoch milliseconds in
//! `CODEBUILD_START_TIME`. UTC, computed without a date library.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

fn since_epoch(t: SystemTime) -> Duration {
    t.duration_since(UNIX_EPOCH).unwrap_or_default()
}

/// Epoch seconds with millisecond precision, as the AWS CLI prints them.
pub fn epoch_seconds(t: SystemTime) -> f64 {
    (since_epoch(t).as_millis() as f64) / 1000.0
}

pub fn epoch_millis(t: SystemTime) -> u128 {
    since_epoch(t).as_millis()
}

/// Days since 1970-01-01 to (year, month, day), Howard Hinnant's algorithm.
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

/// `YYYY/MM/DD HH:MM:SS.ffffff` in UTC, the `[Container]` line stamp.
pub fn log_stamp(t: SystemTime) -> String {
    let d = since_epoch(t);
    let secs = d.as_secs() as i64;
    let (y, m, day) = civil_from_days(secs.div_euclid(86_400));
    let rem = secs.rem_euclid(86_400);
    format!(
        "{y:04}/{m:02}/{day:02} {:02}:{:02}:{:02}.{:06}",
        rem / 3600,
        (rem % 3600) / 60,
        rem % 60,
        d.subsec_micros()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_like_codebuild() {
        let t = UNIX_EPOCH + Duration::from_micros(1_717_553_047_161_900);
        assert_eq!(log_stamp(t), "2024/06/05 02:04:07.161900");
        assert_eq!(epoch_seconds(t), 1_717_553_047.161);
        assert_eq!(log_stamp(UNIX_EPOCH), "1970/01/01 00:00:00.000000");
        assert_eq!(
            log_stamp(UNIX_EPOCH + Duration::from_secs(951_782_400)),
            "2000/02/29 00:00:00.000000"
        );
    }
}
