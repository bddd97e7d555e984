//! `pipelocal view --serve`: the history over HTTP on 127.0.0.1, read afresh
//! at every request. A few lines of std's TCP instead of a web framework:
//! one local reader, GET only, pages made whole in memory.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::process::ExitCode;
use std::time::Duration;

use pipelocal_orchestrator::history::History;
use pipelocal_orchestrator::status::ExecutionStatus;

use super::{all_executions, gather, page};
use crate::build::unusable;

pub fn serve(dir: &Path) -> ExitCode {
    // Port 0: the system picks a free one.
    let listener = match TcpListener::bind(("127.0.0.1", 0)) {
        Ok(l) => l,
        Err(e) => return unusable(format!("cannot listen on 127.0.0.1: {e}")),
    };
    let address = match listener.local_addr() {
        Ok(a) => a,
        Err(e) => return unusable(format!("cannot listen on 127.0.0.1: {e}")),
    };
    println!(
        "Serving the executions of {} at http://{address}/ (Ctrl-C stops)",
        dir.display()
    );
    let _ = std::io::stdout().flush();
    for stream in listener.incoming().flatten() {
        // One reader at a time is enough for a person's browser.
        let _ = respond(stream, dir);
    }
    ExitCode::SUCCESS
}

fn respond(mut stream: TcpStream, dir: &Path) -> std::io::Result<()> {
    stream.set_read_timeout(Some(Duration::from_secs(5)))?;
    let mut head = Vec::new();
    let mut buf = [0u8; 1024];
    while !head.windows(4).any(|w| w == b"\r\n\r\n") && head.len() < 16 * 1024 {
        let n = stream.read(&mut buf)?;
        if n == 0 {
            break;
        }
        head.extend_from_slice(&buf[..n]);
    }
    let head = String::from_utf8_lossy(&head);
    let mut words = head.split_whitespace();
    let (method, path) = (words.next().unwrap_or(""), words.next().unwrap_or(""));
    let (status, body) = if method != "GET" {
        ("405 Method Not Allowed", "only GET".to_string())
    } else {
        route(path, dir)
    };
    let reply = format!(
        "HTTP/1.1 {status}\r\nContent-Type: text/html; charset=utf-8\r\nContent-Length: {}\r\nCache-Control: no-store\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    stream.write_all(reply.as_bytes())
}

fn route(path: &str, dir: &Path) -> (&'static str, String) {
    if path == "/" {
        return match all_executions(dir) {
            Ok(list) => ("200 OK", page::list_page(&list)),
            Err(e) => ("500 Internal Server Error", page::escape(&e)),
        };
    }
    if let Some(id) = path.strip_prefix("/execution/") {
        return match History::new(dir).find(id) {
            Ok(record) => {
                let running = record.status == ExecutionStatus::InProgress;
                let execution = gather::gather(dir, record);
                ("200 OK", page::execution_page(&execution, running))
            }
            Err(e) => ("404 Not Found", page::escape(&e.to_string())),
        };
    }
    ("404 Not Found", format!("no page {}", page::escape(path)))
}
