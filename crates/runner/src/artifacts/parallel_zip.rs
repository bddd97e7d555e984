//! A zip written with every core: entries are deflated by worker threads,
//! each into a part file of its own, and the parts are then assembled into
//! the artifact by copying the compressed bytes in the artifact's order. The
//! result does not depend on which worker took which entry, so artifacts stay
//! byte-for-byte reproducible (fixed times, an order the caller gives).
//!
//! Memory stays flat as artifacts grow: a file is held in memory only while
//! queued for a worker, the queue is short, files larger than
//! [`INLINE_ABOVE`] are deflated by the caller's thread as they are read, and
//! an entry costs only its [`Deflated`] record until assembly. The assembly
//! writes the zip format itself (`zip_format`) because a `zip::ZipWriter`
//! keeps every entry's metadata (about half a kilobyte each, twice over when
//! copying from part archives) until it finishes; here the central directory
//! goes to a temporary file as entries are written.

use std::fs::File;
use std::io::{BufWriter, Read, Seek, SeekFrom, Write};
use std::path::Path;
use std::sync::mpsc::{sync_channel, Receiver, SyncSender};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

use flate2::write::DeflateEncoder;
use flate2::{Compression, CrcReader};

use super::zip_format::{Entry, Method, ZipWriter};

/// Files above this size are not queued (that would hold them in memory).
pub const INLINE_ABOVE: u64 = 1024 * 1024;

/// A file added to a [`ZipBuilder`], named in its plan.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FileId(usize);

/// One entry of the finished artifact: a file added to the builder, under
/// the name the artifact gives it (a symlink followed to a file of the
/// artifact names that file), or a symlink (`enable-symlinks`).
#[derive(Debug, Clone)]
pub enum Planned {
    File { id: FileId, name: String },
    Symlink { name: String, target: String },
}

/// Where a file's deflated bytes are, and what the zip says of them.
#[derive(Debug, Clone, Copy)]
struct Deflated {
    part: usize,
    offset: u64,
    compressed: u64,
    size: u64,
    crc: u32,
    mode: u32,
}

struct Job {
    id: FileId,
    mode: u32,
    data: Vec<u8>,
}

/// A part file being written, and how far. Its one encoder is reset between
/// entries: a new one per entry would allocate deflate's state every time.
struct Part {
    file: tempfile::NamedTempFile,
    out: BufWriter<File>,
    written: u64,
    encoder: DeflateEncoder<Vec<u8>>,
    buf: Vec<u8>,
}

impl Part {
    fn new() -> std::io::Result<Self> {
        let file = tempfile::NamedTempFile::new()?;
        let out = BufWriter::new(file.reopen()?);
        Ok(Part {
            file,
            out,
            written: 0,
            encoder: DeflateEncoder::new(Vec::new(), Compression::default()),
            buf: vec![0; 64 * 1024],
        })
    }

    /// Moves what the encoder has produced into the part file.
    fn drain(&mut self) -> std::io::Result<u64> {
        let produced = self.encoder.get_mut();
        self.out.write_all(produced)?;
        let n = produced.len() as u64;
        produced.clear();
        Ok(n)
    }

    /// Deflates `data` onto the end of the part.
    fn deflate(
        &mut self,
        part: usize,
        mode: u32,
        data: &mut dyn Read,
    ) -> std::io::Result<Deflated> {
        let mut data = CrcReader::new(data);
        let (mut size, mut compressed) = (0, 0);
        loop {
            let n = match data.read(&mut self.buf) {
                Ok(0) => break,
                Ok(n) => n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            };
            self.encoder.write_all(&self.buf[..n])?;
            size += n as u64;
            compressed += self.drain()?;
        }
        self.encoder.try_finish()?;
        compressed += self.drain()?;
        // Starts the next entry's stream, keeping the output buffer.
        let spare = std::mem::take(self.encoder.get_mut());
        self.encoder.reset(spare)?;
        let offset = self.written;
        self.written += compressed;
        Ok(Deflated {
            part,
            offset,
            compressed,
            size,
            crc: data.crc().sum(),
            mode,
        })
    }

    fn close(mut self) -> std::io::Result<tempfile::NamedTempFile> {
        self.out.flush()?;
        Ok(self.file)
    }
}

type Worked = (tempfile::NamedTempFile, Vec<(FileId, Deflated)>);

fn work(part: usize, jobs: Arc<Mutex<Receiver<Job>>>) -> std::io::Result<Worked> {
    let mut out = Part::new()?;
    let mut done = Vec::new();
    loop {
        let job = {
            let rx = jobs.lock().unwrap_or_else(|e| e.into_inner());
            rx.recv()
        };
        let Ok(job) = job else { break };
        done.push((
            job.id,
            out.deflate(part, job.mode, &mut job.data.as_slice())?,
        ));
    }
    Ok((out.close()?, done))
}

pub struct ZipBuilder {
    jobs: Option<SyncSender<Job>>,
    workers: Vec<JoinHandle<std::io::Result<Worked>>>,
    /// The caller's own part: large files.
    inline: Part,
    /// Each added file's record, filled in as workers report.
    files: Vec<Option<Deflated>>,
}

impl ZipBuilder {
    /// Starts one worker per core: the caller's thread mostly reads (a tar
    /// stream, small files) and deflates only the rare large file itself.
    pub fn new() -> std::io::Result<Self> {
        let count = std::thread::available_parallelism().map_or(1, |n| n.get());
        let (tx, rx) = sync_channel::<Job>(count * 2);
        let rx = Arc::new(Mutex::new(rx));
        let workers = (0..count)
            .map(|part| {
                let rx = Arc::clone(&rx);
                std::thread::spawn(move || work(part, rx))
            })
            .collect();
        Ok(ZipBuilder {
            jobs: Some(tx),
            workers,
            inline: Part::new()?,
            files: Vec::new(),
        })
    }

    /// Adds a file of `len` bytes read from `data`: queued when small,
    /// deflated here as it is read when large. Unix permission bits of
    /// `mode` are kept.
    pub fn add_file(
        &mut self,
        mode: u32,
        len: u64,
        data: &mut dyn Read,
    ) -> std::io::Result<FileId> {
        let id = FileId(self.files.len());
        if len > INLINE_ABOVE {
            let part = self.workers.len();
            self.files
                .push(Some(self.inline.deflate(part, mode, data)?));
            return Ok(id);
        }
        self.files.push(None);
        let mut buf = Vec::with_capacity(len as usize);
        data.read_to_end(&mut buf)?;
        let job = Job {
            id,
            mode,
            data: buf,
        };
        match self.jobs.as_ref().map(|tx| tx.send(job)) {
            Some(Ok(())) => Ok(id),
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
                Ok(Ok((file, done))) => {
                    parts.push(file);
                    for (id, deflated) in done {
                        self.files[id.0] = Some(deflated);
                    }
                }
                Ok(Err(e)) => failure = Some(e),
                Err(_) => failure = Some(std::io::Error::other("a compression worker panicked")),
            }
        }
        if let Some(e) = failure {
            return Err(e);
        }
        parts.push(self.inline.close()?);
        let mut parts: Vec<File> = parts.iter().map(|p| p.reopen()).collect::<Result<_, _>>()?;
        let mut out = ZipWriter::new(BufWriter::new(File::create(dest)?))?;
        for step in plan {
            match step {
                Planned::Symlink { name, target } => {
                    let bytes = target.as_bytes();
                    let mut crc = flate2::Crc::new();
                    crc.update(bytes);
                    let entry = Entry {
                        name,
                        method: Method::Stored,
                        crc: crc.sum(),
                        compressed: bytes.len() as u64,
                        size: bytes.len() as u64,
                        mode: SYMLINK | 0o777,
                    };
                    out.add(&entry, &mut &bytes[..])?;
                }
                Planned::File { id, name } => {
                    let Some(Some(at)) = self.files.get(id.0) else {
                        return Err(std::io::Error::other(format!(
                            "{name} was planned but never added"
                        )));
                    };
                    let entry = Entry {
                        name,
                        method: Method::Deflated,
                        crc: at.crc,
                        compressed: at.compressed,
                        size: at.size,
                        mode: REGULAR | (at.mode & 0o7777),
                    };
                    let part = &mut parts[at.part];
                    part.seek(SeekFrom::Start(at.offset))?;
                    out.add(&entry, &mut part.take(at.compressed))?;
                }
            }
        }
        let entries = out.finish()?;
        Ok(entries)
    }
}

/// Unix file types, as a zip's external attributes carry them.
const REGULAR: u32 = 0o100000;
const SYMLINK: u32 = 0o120000;

#[cfg(test)]
mod tests {
    use super::*;
    use zip::ZipArchive;

    fn build(files: &[(&str, Vec<u8>)], order: &[&str], dest: &Path) -> usize {
        let mut b = ZipBuilder::new().unwrap();
        let ids: Vec<(&str, FileId)> = files
            .iter()
            .map(|(name, data)| {
                let id = b
                    .add_file(0o644, data.len() as u64, &mut data.as_slice())
                    .unwrap();
                (*name, id)
            })
            .collect();
        let plan: Vec<Planned> = order
            .iter()
            .map(|n| Planned::File {
                id: ids.iter().find(|(name, _)| name == n).unwrap().1,
                name: n.to_string(),
            })
            .collect();
        b.finish(&plan, dest).unwrap()
    }

    fn unzip_tests(zip: &Path) {
        let out = std::process::Command::new("unzip")
            .arg("-tq")
            .arg(zip)
            .output();
        match out {
            Ok(out) => assert!(
                out.status.success(),
                "unzip -t: {}",
                String::from_utf8_lossy(&out.stdout)
            ),
            Err(_) => eprintln!("unzip_tests: Info-ZIP's unzip is not installed; only the zip crate read the artifact"),
        }
    }

    #[test]
    fn the_same_entries_make_the_same_bytes_whatever_order_they_came_in() {
        let big = vec![7u8; (INLINE_ABOVE + 10) as usize];
        let files: Vec<(&str, Vec<u8>)> = (0..4)
            .map(|i| (["a", "b", "c", "d"][i], format!("content {i}").into_bytes()))
            .chain([("big", big.clone())])
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
        unzip_tests(&one);
        let mut zip = ZipArchive::new(File::open(&one).unwrap()).unwrap();
        let names: Vec<String> = (0..zip.len())
            .map(|i| zip.by_index(i).unwrap().name().to_string())
            .collect();
        assert_eq!(names, order);
        let mut text = String::new();
        zip.by_name("c").unwrap().read_to_string(&mut text).unwrap();
        assert_eq!(text, "content 2");
        let mut read = Vec::new();
        zip.by_name("big").unwrap().read_to_end(&mut read).unwrap();
        assert_eq!(read, big);
    }

    #[test]
    fn one_file_under_two_names_keeps_its_contents_and_mode_under_both() {
        let dir = tempfile::tempdir().unwrap();
        let dest = dir.path().join("a.zip");
        let mut b = ZipBuilder::new().unwrap();
        let id = b.add_file(0o755, 2, &mut &b"hi"[..]).unwrap();
        let plan = vec![
            Planned::File {
                id,
                name: "link".into(),
            },
            Planned::File {
                id,
                name: "real".into(),
            },
        ];
        assert_eq!(b.finish(&plan, &dest).unwrap(), 2);
        let mut zip = ZipArchive::new(File::open(&dest).unwrap()).unwrap();
        for name in ["link", "real"] {
            let mut file = zip.by_name(name).unwrap();
            assert_eq!(file.unix_mode(), Some(0o100755));
            let mut text = String::new();
            file.read_to_string(&mut text).unwrap();
            assert_eq!(text, "hi");
        }
    }

    #[test]
    fn symlinks_empty_files_and_names_beyond_ascii_read_back() {
        let dir = tempfile::tempdir().unwrap();
        let dest = dir.path().join("a.zip");
        let mut b = ZipBuilder::new().unwrap();
        let empty = b.add_file(0o600, 0, &mut &b""[..]).unwrap();
        let plan = vec![
            Planned::File {
                id: empty,
                name: "dossier/été.txt".into(),
            },
            Planned::Symlink {
                name: "latest".into(),
                target: "dossier/été.txt".into(),
            },
        ];
        b.finish(&plan, &dest).unwrap();
        unzip_tests(&dest);
        let mut zip = ZipArchive::new(File::open(&dest).unwrap()).unwrap();
        let file = zip.by_name("dossier/été.txt").unwrap();
        assert_eq!((file.size(), file.unix_mode()), (0, Some(0o100600)));
        drop(file);
        let mut link = zip.by_name("latest").unwrap();
        assert!(link.is_symlink());
        let mut target = String::new();
        link.read_to_string(&mut target).unwrap();
        assert_eq!(target, "dossier/été.txt");
    }

    /// More entries than the classic end record can count: the ZIP64 end
    /// records carry the count, and readers find every entry.
    #[test]
    fn more_than_65535_entries_are_all_found() {
        let dir = tempfile::tempdir().unwrap();
        let dest = dir.path().join("many.zip");
        let mut b = ZipBuilder::new().unwrap();
        let count = 70_000;
        let plan: Vec<Planned> = (0..count)
            .map(|i| Planned::File {
                id: b.add_file(0o644, 1, &mut &b"x"[..]).unwrap(),
                name: format!("f{i:05}"),
            })
            .collect();
        assert_eq!(b.finish(&plan, &dest).unwrap(), count);
        unzip_tests(&dest);
        let mut zip = ZipArchive::new(File::open(&dest).unwrap()).unwrap();
        assert_eq!(zip.len(), count);
        let mut last = String::new();
        zip.by_name("f69999")
            .unwrap()
            .read_to_string(&mut last)
            .unwrap();
        assert_eq!(last, "x");
    }
}
