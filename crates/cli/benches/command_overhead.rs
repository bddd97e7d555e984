//! Per-command overhead of `pipelocal build`: a buildspec of 50 trivial
//! commands (run by the container's command loop), against the same 50
//! commands run by `docker exec` one at a time and by one `docker run` as a
//! single script. Prints times and ratios from
//! one run; no thresholds (speed targets do not belong in tests).

mod common;

use std::process::Command;
use std::time::Duration;

use common::{build_images, docker_answers, idle_container, run, timed};

const IMAGE: &str = "pipelocal/busybox";
const COMMANDS: usize = 50;

/// How many times each quick measurement is taken; the median is shown.
const ROUNDS: usize = 5;

fn median(mut f: impl FnMut() -> Duration) -> Duration {
    let mut times: Vec<Duration> = (0..ROUNDS).map(|_| f()).collect();
    times.sort();
    times[ROUNDS / 2]
}

fn main() {
    if !docker_answers() {
        eprintln!("command_overhead: no Docker engine answers; nothing to measure");
        return;
    }
    build_images(&["busybox"]);

    let build = |commands: usize| {
        let dir = tempfile::tempdir().unwrap();
        let mut spec = String::from("version: 0.2\nphases:\n  build:\n    commands:\n");
        for i in 0..commands {
            spec.push_str(&format!("      - echo {i}\n"));
        }
        std::fs::write(dir.path().join("buildspec.yml"), spec).unwrap();
        let state = tempfile::tempdir().unwrap();
        timed(|| {
            run(Command::new(env!("CARGO_BIN_EXE_pipelocal"))
                .args(["build", "-s", dir.path().to_str().unwrap(), "-i", IMAGE])
                .args(["--state-dir", state.path().to_str().unwrap()]))
        })
    };
    // Warm the engine's caches for the image, then measure.
    build(1);
    let single = median(|| build(1));
    let pipelocal = median(|| build(COMMANDS));

    let name = format!("pipelocal-bench-{}", std::process::id());
    let exec_one_by_one = timed(|| {
        idle_container(&name, IMAGE);
        for i in 0..COMMANDS {
            run(Command::new("docker").args(["exec", &name, "sh", "-c", &format!("echo {i}")]));
        }
        run(Command::new("docker").args(["rm", "-f", &name]));
    });

    let script: Vec<String> = (0..COMMANDS).map(|i| format!("echo {i}")).collect();
    let one_run = median(|| {
        timed(|| {
            run(Command::new("docker").args(["run", "--rm", IMAGE, "sh", "-c", &script.join("; ")]))
        })
    });

    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    println!("{COMMANDS} trivial commands in {IMAGE} (medians of {ROUNDS} runs, but exec one by one: 1 run):");
    println!(
        "  pipelocal build (container, copy-in, {COMMANDS} commands, cleanup): {:8.0} ms",
        ms(pipelocal)
    );
    println!(
        "  pipelocal build of 1 command:                                {:8.0} ms",
        ms(single)
    );
    println!(
        "  docker exec one by one (CLI, run + {COMMANDS} execs + rm):       {:8.0} ms",
        ms(exec_one_by_one)
    );
    println!(
        "  one docker run with a single script:                        {:8.0} ms",
        ms(one_run)
    );
    println!(
        "  pipelocal / docker exec one by one: {:.2}",
        ms(pipelocal) / ms(exec_one_by_one)
    );
    println!(
        "  pipelocal / one docker run:         {:.2}",
        ms(pipelocal) / ms(one_run)
    );
    println!(
        "  pipelocal per command (50 commands less 1, over 49): {:.1} ms",
        (ms(pipelocal) - ms(single)) / (COMMANDS - 1) as f64
    );
}
