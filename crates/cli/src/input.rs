//! Standard input, read by one thread for the whole process and handed out
//! as chunks of bytes: an approval question and a paused build's shell take
//! turns on the same terminal, and a question or shell that is no longer
//! waiting leaves no read behind that would swallow the next one's input.

use std::io::Read;
use std::sync::OnceLock;

use tokio::sync::mpsc::{unbounded_channel, UnboundedReceiver};
use tokio::sync::Mutex;

/// The chunks read so far and not yet taken; closed at end of input.
pub fn chunks() -> &'static Mutex<UnboundedReceiver<Vec<u8>>> {
    static CHUNKS: OnceLock<Mutex<UnboundedReceiver<Vec<u8>>>> = OnceLock::new();
    CHUNKS.get_or_init(|| {
        let (tx, rx) = unbounded_channel();
        std::thread::spawn(move || {
            let mut stdin = std::io::stdin();
            let mut buf = vec![0u8; 4096];
            loop {
                match stdin.read(&mut buf) {
                    Ok(0) | Err(_) => break,
                    Ok(n) => {
                        if tx.send(buf[..n].to_vec()).is_err() {
                            break;
                        }
                    }
                }
            }
        });
        Mutex::new(rx)
    })
}
