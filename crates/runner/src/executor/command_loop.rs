//! The command loop: a small POSIX sh program that is the build container's
//! main process (and, for `run-as` users, one exec per user). It reads
//! requests on its standard input, runs each command item as its own shell
//! process, exactly as a `docker exec` of `sh -c SCRIPT` would, and ends each
//! command's output on stdout and on stderr with a marker carrying its exit
//! status. One round trip through the engine per build instead of one per
//! command (docs/user-guide.md, "How commands run").
//!
//! When its standard input closes, however pipelocal ended (even SIGKILL),
//! the loop exits, also in the middle of a command; the container's init then
//! ends every process of the build and the engine removes the auto-remove
//! container.

use std::pin::Pin;

use aho_corasick::AhoCorasick;
use bollard::container::LogOutput;
use futures_util::{Stream, StreamExt};
use tokio::io::{AsyncWrite, AsyncWriteExt};

use super::utf8::Utf8Chunks;
use super::{CommandRun, ExecError};
use crate::shell::quote;

/// The loop itself, run as `sh -c LOOP_SCRIPT pipelocal-command-loop`.
///
/// Protocol, one line each unless said otherwise:
/// - first line: the marker (random, never in argv, so `ps` cannot show it);
/// - per command: `SEQ NPRELUDE NSCRIPT [NDATA]`, the shell, `$0`, then
///   NPRELUDE lines of `export` statements (secrets: in memory, never in a
///   file), NSCRIPT lines of script, and NDATA bytes the command reads as
///   its input (`head -c`: a small upload without an exec of its own).
///
/// The command's stdin is /dev/null, as with an exec that attaches none.
pub const LOOP_SCRIPT: &str = r#"__pl_read() {
  __pl_v=; __pl_i=0
  while [ "$__pl_i" -lt "$1" ]; do
    IFS= read -r __pl_l || __pl_end
    if [ "$__pl_i" = 0 ]; then __pl_v=$__pl_l; else __pl_v="$__pl_v
$__pl_l"; fi
    __pl_i=$((__pl_i + 1))
  done
}
__pl_keep=$1
__pl_end() {
  # A kept build's container outlives pipelocal: the loop then only waits.
  if [ "$__pl_keep" = keep ]; then
    while :; do sleep 3600; done
  fi
  exit 0
}
__pl_forward() {
  if command -v cat >/dev/null 2>&1; then
    cat
  else
    while IFS= read -r __pl_l; do printf '%s\n' "$__pl_l"; done
  fi
}
# The input is read by a forwarder, so its end is seen at once, also in the
# middle of a command: pipelocal is gone (even SIGKILL), and the loop is
# killed with the build (the container's init then ends every process). A
# kept build stays: its loop sees the end of its input and only waits.
{ __pl_forward; [ "$__pl_keep" = keep ] || kill -KILL $$; } | {
  # The input, for a request that carries data (an asynchronous command's
  # own stdin is /dev/null).
  exec 3<&0
  IFS= read -r __pl_mark || __pl_end
  while IFS= read -r __pl_head; do
    set -- $__pl_head
    __pl_seq=$1; __pl_np=$2; __pl_ns=$3; __pl_nb=${4:-0}
    IFS= read -r __pl_shell || __pl_end
    IFS= read -r __pl_name || __pl_end
    __pl_read "$__pl_np"; __pl_pre=$__pl_v
    __pl_read "$__pl_ns"; __pl_script=$__pl_v
    # In the background, as the loop always ran commands: an asynchronous
    # command ignores SIGINT and SIGQUIT, and builds keep that behaviour.
    if [ "$__pl_nb" -gt 0 ]; then
      # The request's data follows it, NB bytes, and is the command's input;
      # pipelocal sends nothing more until the command has ended.
      ( eval "$__pl_pre"; head -c "$__pl_nb" <&3 | "$__pl_shell" -c "$__pl_script" "$__pl_name" ) &
    else
      ( eval "$__pl_pre"; exec "$__pl_shell" -c "$__pl_script" "$__pl_name" ) </dev/null &
    fi
    wait "$!"
    __pl_rc=$?
    printf '%s%s:%s;' "$__pl_mark" "$__pl_seq" "$__pl_rc"
    printf '%s%s;' "$__pl_mark" "$__pl_seq" >&2
  done
  __pl_end
}
"#;

/// The argv that starts a loop; a kept build's main loop waits forever
/// when its input closes instead of ending the container.
pub fn loop_command(keep: bool) -> Vec<String> {
    let mut argv: Vec<String> = vec![
        "/bin/sh".into(),
        "-c".into(),
        LOOP_SCRIPT.into(),
        "pipelocal-command-loop".into(),
    ];
    if keep {
        argv.push("keep".into());
    }
    argv
}

type Output = Pin<Box<dyn Stream<Item = Result<LogOutput, bollard::errors::Error>> + Send>>;
type Input = Pin<Box<dyn AsyncWrite + Send>>;

/// One running loop: where requests go and where output comes from.
pub struct CommandLoop {
    input: Input,
    output: Output,
    seq: u64,
    stdout: Framer,
    stderr: Framer,
}

impl CommandLoop {
    /// Starts talking to a loop whose stdin and output are attached.
    pub async fn start(mut input: Input, output: Output) -> Result<Self, ExecError> {
        let marker = new_marker();
        input
            .write_all(&[marker.as_slice(), b"\n"].concat())
            .await
            .map_err(|e| ExecError::io("starting the command loop", e))?;
        input
            .flush()
            .await
            .map_err(|e| ExecError::io("starting the command loop", e))?;
        Ok(CommandLoop {
            input,
            output,
            stdout: Framer::new(&marker),
            stderr: Framer::new(&marker),
            seq: 0,
        })
    }

    /// Runs one command, streaming its output; returns its exit status.
    pub async fn run(
        &mut self,
        cmd: &CommandRun<'_>,
        output: &mut (dyn FnMut(&str) + Send),
    ) -> Result<i64, ExecError> {
        self.run_with_input(cmd, &[], output).await
    }

    /// [`run`](Self::run) with `data` as the command's standard input (empty:
    /// /dev/null, as for every build command).
    pub async fn run_with_input(
        &mut self,
        cmd: &CommandRun<'_>,
        data: &[u8],
        output: &mut (dyn FnMut(&str) + Send),
    ) -> Result<i64, ExecError> {
        self.seq += 1;
        let seq = self.seq;
        let request = encode_request(seq, cmd, data.len());
        self.input
            .write_all(request.as_bytes())
            .await
            .map_err(|e| ExecError::io("sending a command to the build container", e))?;
        self.input
            .write_all(data)
            .await
            .map_err(|e| ExecError::io("sending a command to the build container", e))?;
        self.input
            .flush()
            .await
            .map_err(|e| ExecError::io("sending a command to the build container", e))?;
        let (mut out_text, mut err_text) = (Utf8Chunks::default(), Utf8Chunks::default());
        // Output a previous command's background processes wrote after its end.
        let (early_out, mut status) = self.stdout.take_carry(seq);
        output(&out_text.push(&early_out));
        let (early_err, err_end) = self.stderr.take_carry(seq);
        output(&err_text.push(&early_err));
        let mut err_done = err_end.is_some();
        while status.is_none() || !err_done {
            let Some(item) = self.output.next().await else {
                output(&(out_text.finish() + &err_text.finish()));
                return Err(ExecError::io(
                    "running a command",
                    std::io::Error::other("the build container's command loop ended"),
                ));
            };
            match item {
                Ok(LogOutput::StdOut { message } | LogOutput::Console { message }) => {
                    let (text, end) = self.stdout.push(&message, seq);
                    output(&out_text.push(&text));
                    if end.is_some() {
                        status = end;
                    }
                }
                Ok(LogOutput::StdErr { message }) => {
                    let (text, end) = self.stderr.push(&message, seq);
                    output(&err_text.push(&text));
                    err_done |= end.is_some();
                }
                Ok(LogOutput::StdIn { .. }) => {}
                Err(source) => {
                    return Err(ExecError::Docker {
                        doing: "reading command output",
                        source,
                    })
                }
            }
        }
        output(&(out_text.finish() + &err_text.finish()));
        Ok(status.unwrap_or(-1))
    }

    /// Closes the loop's stdin: it exits, and its processes with it.
    pub async fn close(mut self) {
        let _ = self.input.shutdown().await;
    }
}

/// `\x1e` + 32 random hex digits + `\x1e`: no command prints it by chance.
fn new_marker() -> Vec<u8> {
    let mut m = vec![0x1e];
    m.extend_from_slice(uuid::Uuid::new_v4().simple().to_string().as_bytes());
    m.push(0x1e);
    m
}

/// Lines of `text` as the loop reads them back (joined with `\n`).
fn lines(text: &str) -> (usize, &str) {
    (text.split('\n').count(), text)
}

fn encode_request(seq: u64, cmd: &CommandRun<'_>, data: usize) -> String {
    let prelude: String = cmd
        .env
        .iter()
        .filter(|(name, _)| pipelocal_model::buildspec::is_shell_name(name))
        .map(|(name, value)| format!("export {name}={}", quote(value)))
        .collect::<Vec<_>>()
        .join("\n");
    let (np, prelude) = if prelude.is_empty() {
        (0, "")
    } else {
        lines(&prelude)
    };
    let script = cmd.script.strip_suffix('\n').unwrap_or(cmd.script);
    let (ns, script) = lines(script);
    let mut out = format!(
        "{seq} {np} {ns} {data}\n{}\n{}\n",
        one_line(cmd.shell),
        one_line(cmd.script_name)
    );
    if np > 0 {
        out.push_str(prelude);
        out.push('\n');
    }
    out.push_str(script);
    out.push('\n');
    out
}

/// A shell name or `$0` is one line; a newline in it would desynchronise the loop.
fn one_line(s: &str) -> String {
    s.replace('\n', " ")
}

/// Splits one output stream at the markers: what comes before a marker is
/// the command's output, the marker gives its sequence number (and, on
/// stdout, its exit status). A partial marker at a chunk's end is held back,
/// nothing else is, so output stays live.
struct Framer {
    marker: Vec<u8>,
    finder: AhoCorasick,
    pending: Vec<u8>,
    /// Ends seen for later commands than the one being read (never expected,
    /// kept for robustness) and output after the last end.
    carry: Vec<u8>,
}

/// What a marker said: the command's exit status (0 on stderr).
type End = Option<i64>;

impl Framer {
    fn new(marker: &[u8]) -> Self {
        Framer {
            marker: marker.to_vec(),
            finder: AhoCorasick::new([marker]).expect("a literal pattern always builds"),
            pending: Vec::new(),
            carry: Vec::new(),
        }
    }

    /// Output that arrived after the previous command's end, before `seq` was
    /// asked for, and that command's end if it came already.
    fn take_carry(&mut self, seq: u64) -> (Vec<u8>, End) {
        let carried = std::mem::take(&mut self.carry);
        self.push(&carried, seq)
    }

    /// Feeds bytes; returns the output for the command `seq` and its end if
    /// it was found. Bytes after the end are carried to the next command.
    fn push(&mut self, bytes: &[u8], seq: u64) -> (Vec<u8>, End) {
        self.pending.extend_from_slice(bytes);
        let mut out = Vec::new();
        let mut from = 0;
        while let Some(found) = self.finder.find(&self.pending[from..]) {
            let start = from + found.start();
            let body_start = start + self.marker.len();
            let Some(len) = self.pending[body_start..].iter().position(|&b| b == b';') else {
                // The rest of the marker has not arrived yet.
                out.extend_from_slice(&self.pending[from..start]);
                self.pending.drain(..start);
                return (out, None);
            };
            let body = &self.pending[body_start..body_start + len];
            match parse_end(body) {
                Some((s, status)) if s == seq => {
                    out.extend_from_slice(&self.pending[from..start]);
                    self.carry = self.pending.split_off(body_start + len + 1);
                    self.pending.clear();
                    return (out, Some(status));
                }
                Some((s, _)) if s < seq => {
                    // A stale end (a command whose reader was dropped): skip it.
                    out.extend_from_slice(&self.pending[from..start]);
                    from = body_start + len + 1;
                }
                _ => {
                    // Not a real marker: ordinary output.
                    out.extend_from_slice(&self.pending[from..start + 1]);
                    from = start + 1;
                }
            }
        }
        // Hold back the longest tail that could start a marker.
        let rest = &self.pending[from..];
        let keep = (1..self.marker.len().min(rest.len() + 1))
            .rev()
            .find(|&k| rest.ends_with(&self.marker[..k]))
            .unwrap_or(0);
        out.extend_from_slice(&rest[..rest.len() - keep]);
        self.pending.drain(..self.pending.len() - keep);
        (out, None)
    }
}

/// `SEQ:STATUS` (stdout) or `SEQ` (stderr, status 0).
fn parse_end(body: &[u8]) -> Option<(u64, i64)> {
    let text = std::str::from_utf8(body).ok()?;
    let (seq, status) = match text.split_once(':') {
        Some((seq, status)) => (seq, status.parse().ok()?),
        None => (text, 0),
    };
    Some((seq.parse().ok()?, status))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn framer() -> Framer {
        Framer::new(b"\x1eMARK\x1e")
    }

    #[test]
    fn output_before_the_marker_is_the_commands() {
        let mut f = framer();
        let (out, end) = f.push(b"hello\nno newline\x1eMARK\x1e1:3;after", 1);
        assert_eq!(out, b"hello\nno newline");
        assert_eq!(end, Some(3));
        let (out, end) = f.take_carry(2);
        assert_eq!((out.as_slice(), end), (&b"after"[..], None));
    }

    #[test]
    fn a_marker_split_across_chunks_is_found() {
        let whole = b"abc\x1eMARK\x1e7:0;";
        for cut in 0..whole.len() {
            let mut f = framer();
            let (mut out, mut end) = f.push(&whole[..cut], 7);
            if end.is_none() {
                let (more, e) = f.push(&whole[cut..], 7);
                out.extend(more);
                end = e;
            }
            assert_eq!(out, b"abc", "cut at {cut}");
            assert_eq!(end, Some(0), "cut at {cut}");
        }
    }

    #[test]
    fn output_is_not_held_back_unless_it_may_start_a_marker() {
        let mut f = framer();
        assert_eq!(f.push(b"live", 1), (b"live".to_vec(), None));
        assert_eq!(f.push(b"x\x1eMA", 1), (b"x".to_vec(), None));
        assert_eq!(f.push(b"Y", 1), (b"\x1eMAY".to_vec(), None));
    }

    #[test]
    fn look_alikes_and_stale_ends_are_output_or_skipped() {
        let mut f = framer();
        let (out, end) = f.push(
            b"\x1eMARK\x1enot-a-number;x\x1eMARK\x1e1:1;y\x1eMARK\x1e2:5;",
            2,
        );
        assert_eq!(out, b"\x1eMARK\x1enot-a-number;xy");
        assert_eq!(end, Some(5));
    }

    #[test]
    fn requests_keep_every_line() {
        let env = vec![("TOKEN".to_string(), "a'b\nc".to_string())];
        let cmd = CommandRun {
            shell: "sh",
            script: "echo 1\n\necho 2\n",
            script_name: "/t/script.sh",
            user: None,
            env: &env,
        };
        let r = encode_request(4, &cmd, 0);
        assert_eq!(
            r,
            "4 2 3 0\nsh\n/t/script.sh\nexport TOKEN='a'\\''b\nc'\necho 1\n\necho 2\n"
        );
    }
}
