//! A byte stream from the engine read as a plain `Read` on a blocking thread
//! (tar and zip are synchronous): a task pumps the stream into a short
//! channel, so at most a few chunks are held in memory.

use bytes::Bytes;
use futures_util::{Stream, StreamExt};
use tokio::sync::mpsc;

pub struct BlockingStream {
    rx: mpsc::Receiver<std::io::Result<Bytes>>,
    current: Bytes,
}

impl BlockingStream {
    /// Starts pumping `stream`; must be called inside the runtime.
    pub fn new<S, E>(stream: S) -> Self
    where
        S: Stream<Item = Result<Bytes, E>> + Send + 'static,
        E: std::fmt::Display + Send + 'static,
    {
        let (tx, rx) = mpsc::channel(8);
        tokio::spawn(async move {
            let mut stream = std::pin::pin!(stream);
            while let Some(item) = stream.next().await {
                let item = item.map_err(|e| std::io::Error::other(e.to_string()));
                let failed = item.is_err();
                if tx.send(item).await.is_err() || failed {
                    break;
                }
            }
        });
        BlockingStream {
            rx,
            current: Bytes::new(),
        }
    }
}

impl std::io::Read for BlockingStream {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        while self.current.is_empty() {
            match self.rx.blocking_recv() {
                Some(Ok(chunk)) => self.current = chunk,
                Some(Err(e)) => return Err(e),
                None => return Ok(0),
            }
        }
        let n = buf.len().min(self.current.len());
        buf[..n].copy_from_slice(&self.current.split_to(n));
        Ok(n)
    }
}
