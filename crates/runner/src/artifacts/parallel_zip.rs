//! A zip written with every core: entries are deflated by worker threads,
//! each into a part file of its own, and the parts are then assembled into
//! the artifact by copying the compressed bytes in the artifact's order. The
//! result does not depend on which worker took which entry, so artifacts stay
//! byte-for-byte reproducible (fixed times, an order the caller gives).
//!
//! Memory stays flat as artifacts grow: a file is held in memory only while
//! queued for a worker, the queue is short, and files larger than
//! [`INLINE_ABOVE`] are deflated by the caller's thread as they are read.

use std::collections::HashMap;
use std::fs::File;
use std::io::{BufReader, BufWriter, Read, Seek, Write};
use std::path::Path;
use std::sync::mpsc::{sync_channel, Receiver, SyncSender};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

use zip::write::SimpleFileOptions;
use zip::{CompressionMethod, ZipArchive, ZipWriter};

/// Files above this size are not queued (that would hold them in memory).
pub const INLINE_ABOVE: u64 = 1024 * 1024;

type Part = ZipWriter<BufWriter<File>>;

struct Job {
    name: String,
    mode: u32,
    data: Vec<u8>,
}

/// Where an entry's compressed bytes are: a part and its index there.
#[derive(Debug, Clone, Copy)]
struct Placed {
    part: usize,
    index: usize,
}

/// One entry of the finished artifact: a stored entry under its own name, or
/// under another (a symlink followed to a file of the artifact), or a
/// symlink (`enable-symlinks`), written at assembly: a raw copy would lose
/// its file type.
#[derive(Debug, Clone)]
pub enum Planned {
    Entry(String),
    Renamed { from: String, to: String },
    Symlink { name: String, target: String },
}

pub struct ZipBuilder {
    jobs: Option<SyncSender<Job>>,
    workers: Vec<JoinHandle<std::io::Result<tempfile::NamedTempFile>>>,
    /// The caller's own part: large files.
    inline: Part,
    inline_file: tempfile::NamedTempFile,
}

fn options(mode: u32, len: u64) -> SimpleFileOptions {
    SimpleFileOptions::default()
        .compression_method(CompressionMethod::Deflated)
        .unix_permissions(mode & 0o7777)
        .large_file(len >= u64::from(u32::MAX))
}

fn new_part() -> std::io::Result<(Part, tempfile::NamedTempFile)> {
    let file = tempfile::NamedTempFile::new()?;
    Ok((ZipWriter::new(BufWriter::new(file.reopen()?)), file))
}

fn work(jobs: Arc<Mutex<Receiver<Job>>>) -> std::io::Result<tempfile::NamedTempFile> {
    let (mut part, file) = new_part()?;
    loop {
        let job = {
            let rx = jobs.lock().unwrap_or_else(|e| e.into_inner());
            rx.recv()
        };
        let Ok(job) = job else { break };
        part.start_file(&job.name, options(job.mode, job.data.len() as u64))?;
        part.write_all(&job.data)?;
    }
    part.finish()?.flush()?;
    Ok(file)
}

impl ZipBuilder {
    /// Starts one worker per core: the caller's thread mostly reads (a tar
    /// stream, small files) and deflates only the rare large file itself.
    pub fn new() -> std::io::Result<Self> {
        let count = std::thread::available_parallelism().map_or(1, |n| n.get());
        let (tx, rx) = sync_channel::<Job>(count * 2);
        let rx = Arc::new(Mutex::new(rx));
        let workers = (0..count)
            .map(|_| {
                let rx = Arc::clone(&rx);
                std::thread::spawn(move || work(rx))
            })
            .collect();
        let (inline, inline_file) = new_part()?;
        Ok(ZipBuilder {
            jobs: Some(tx),
            workers,
            inline,
            inline_file,
        })
    }

    /// Adds a file of `len` bytes read from `data`: queued when small,
    /// deflated here as it is read when large.
    pub fn add_file(
        &mut self,
        name: &str,
        mode: u32,
        len: u64,
        data: &mut dyn Read,
    ) -> std::io::Result<()> {
        if len > INLINE_ABOVE {
            self.inline.start_file(name, options(mode, len))?;
            std::io::copy(data, &mut self.inline)?;
            return Ok(());
        }
        let mut buf = Vec::with_capacity(len as usize);
        data.read_to_end(&mut buf)?;
        let job = Job {
            name: name.to_string(),
            mode,
            data: buf,
        };
        let sent = self.jobs.as_ref().map(|tx| tx.send(job));
        match sent {
            Some(Ok(())) => Ok(()),
            // A worker failed: its error is reported by finish.
            _ => Err(std::io::Error::other("a compression worker stopped")),
        }
    }

    /// Writes the artifact at `dest` with the entries in `plan`'s order.
    /// Returns how many entries it holds.
    pub fn finish(mut self, plan: &[Planned], dest: &Path) -> std::io::Result<usize> {
        drop(self.jobs.take());
        let mut parts = Vec::new();
        let mut failure = None;
        for worker in self.workers.drain(..) {
            match worker.join() {
                Ok(Ok(file)) => parts.push(file),
                Ok(Err(e)) => failure = Some(e),
                Err(_) => failure = Some(std::io::Error::other("a compression worker panicked")),
            }
        }
        if let Some(e) = failure {
            return Err(e);
        }
        self.inline.finish()?.flush()?;
        parts.push(self.inline_file);
        let mut archives = Vec::new();
        let mut placed: HashMap<String, Placed> = HashMap::new();
        for (p, file) in parts.iter().enumerate() {
            let archive = ZipArchive::new(BufReader::new(file.reopen()?))?;
            for index in 0..archive.len() {
                let name = archive
                    .name_for_index(index)
                    .unwrap_or_default()
                    .to_string();
                placed.insert(name, Placed { part: p, index });
            }
            archives.push(archive);
        }
        let mut out = ZipWriter::new(BufWriter::new(File::create(dest)?));
        let mut entries = 0;
        for step in plan {
            let (from, to) = match step {
                Planned::Entry(name) => (name, name),
                Planned::Renamed { from, to } => (from, to),
                Planned::Symlink { name, target } => {
                    out.add_symlink(name, target, SimpleFileOptions::default())?;
                    entries += 1;
                    continue;
                }
            };
            let Some(at) = placed.get(from) else {
                return Err(std::io::Error::other(format!(
                    "{from} was planned but never added"
                )));
            };
            copy_entry(&mut archives[at.part], at.index, to, &mut out)?;
            entries += 1;
        }
        out.finish()?.flush()?;
        Ok(entries)
    }
}

fn copy_entry<R: Read + Seek, W: Write + Seek>(
    from: &mut ZipArchive<R>,
    index: usize,
    name: &str,
    out: &mut ZipWriter<W>,
) -> std::io::Result<()> {
    let file = from.by_index_raw(index)?;
    if file.name() == name {
        out.raw_copy_file(file)?;
    } else {
        out.raw_copy_file_rename(file, name)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn build(files: &[(&str, Vec<u8>)], order: &[&str], dest: &Path) -> usize {
        let mut b = ZipBuilder::new().unwrap();
        for (name, data) in files {
            b.add_file(name, 0o644, data.len() as u64, &mut data.as_slice())
                .unwrap();
        }
        let plan: Vec<Planned> = order
            .iter()
            .map(|n| Planned::Entry(n.to_string()))
            .collect();
        b.finish(&plan, dest).unwrap()
    }

    #[test]
    fn the_same_entries_make_the_same_bytes_whatever_order_they_came_in() {
        let big = vec![7u8; (INLINE_ABOVE + 10) as usize];
        let files: Vec<(&str, Vec<u8>)> = (0..40)
            .map(|i| {
                (
                    ["a", "b", "c", "d"][i % 4],
                    format!("content {i}").into_bytes(),
                )
            })
            .take(4)
            .chain([("big", big)])
            .collect();
        let dir = tempfile::tempdir().unwrap();
        let order = ["a", "b", "big", "c", "d"];
        let one = dir.path().join("one.zip");
        let two = dir.path().join("two.zip");
        assert_eq!(build(&files, &order, &one), 5);
        let mut reversed = files.clone();
        reversed.reverse();
        build(&reversed, &order, &two);
        assert_eq!(std::fs::read(&one).unwrap(), std::fs::read(&two).unwrap());
        let mut zip = ZipArchive::new(File::open(&one).unwrap()).unwrap();
        let names: Vec<String> = (0..zip.len())
            .map(|i| zip.by_index(i).unwrap().name().to_string())
            .collect();
        assert_eq!(names, order);
        let mut text = String::new();
        zip.by_name("c").unwrap().read_to_string(&mut text).unwrap();
        assert_eq!(text, "content 2");
    }

    #[test]
    fn a_renamed_entry_keeps_its_contents_and_mode() {
        let dir = tempfile::tempdir().unwrap();
        let dest = dir.path().join("a.zip");
        let mut b = ZipBuilder::new().unwrap();
        b.add_file("real", 0o755, 2, &mut &b"hi"[..]).unwrap();
        let plan = vec![
            Planned::Renamed {
                from: "real".into(),
                to: "link".into(),
            },
            Planned::Entry("real".into()),
        ];
        assert_eq!(b.finish(&plan, &dest).unwrap(), 2);
        let mut zip = ZipArchive::new(File::open(&dest).unwrap()).unwrap();
        let mut link = zip.by_name("link").unwrap();
        assert_eq!(link.unix_mode().map(|m| m & 0o777), Some(0o755));
        let mut text = String::new();
        link.read_to_string(&mut text).unwrap();
        assert_eq!(text, "hi");
    }
}
