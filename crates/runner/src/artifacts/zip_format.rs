//! The records of a zip file, written as PKWARE's "APPNOTE.TXT - .ZIP File
//! Format Specification" lays them out: a local header before each entry's
//! bytes, a central directory after them (kept in a temporary file while
//! entries are written, so memory does not grow with the entry count), and
//! the end records, with ZIP64 records where sizes, offsets or the count do
//! not fit the classic fields. Times are fixed (1980-01-01 00:00, the
//! earliest a zip can say) so artifacts are reproducible.

use std::fs::File;
use std::io::{BufWriter, Read, Seek, Write};

/// How an entry's bytes are stored.
#[derive(Debug, Clone, Copy)]
pub enum Method {
    Stored,
    Deflated,
}

impl Method {
    fn code(self) -> u16 {
        match self {
            Method::Stored => 0,
            Method::Deflated => 8,
        }
    }
}

/// One entry whose bytes (already compressed) follow its header.
pub struct Entry<'a> {
    pub name: &'a str,
    pub method: Method,
    pub crc: u32,
    pub compressed: u64,
    pub size: u64,
    /// Unix file type and permission bits.
    pub mode: u32,
}

const LOCAL_HEADER: u32 = 0x0403_4b50;
const CENTRAL_HEADER: u32 = 0x0201_4b50;
const END: u32 = 0x0605_4b50;
const ZIP64_END: u32 = 0x0606_4b50;
const ZIP64_LOCATOR: u32 = 0x0706_4b50;
const ZIP64_EXTRA: u16 = 0x0001;
/// The classic fields' "see the ZIP64 record" values.
const MAX32: u64 = 0xFFFF_FFFF;
const MAX16: u64 = 0xFFFF;
/// Version 2.0 reads deflate; 4.5 is needed for ZIP64.
const V20: u16 = 20;
const V45: u16 = 45;
/// Made by Unix, so readers take the external attributes as a Unix mode.
const UNIX: u16 = 3 << 8;
/// The general-purpose flag saying the name is UTF-8.
const UTF8_NAME: u16 = 1 << 11;
/// 1980-01-01 in MS-DOS date format; the time is 00:00:00 (zero).
const DOS_DATE_1980: u16 = (1 << 5) | 1;

/// Little-endian record bytes.
#[derive(Default)]
struct Record(Vec<u8>);

impl Record {
    fn u16(&mut self, v: u16) -> &mut Self {
        self.0.extend_from_slice(&v.to_le_bytes());
        self
    }
    fn u32(&mut self, v: u32) -> &mut Self {
        self.0.extend_from_slice(&v.to_le_bytes());
        self
    }
    fn u64(&mut self, v: u64) -> &mut Self {
        self.0.extend_from_slice(&v.to_le_bytes());
        self
    }
    fn bytes(&mut self, v: &[u8]) -> &mut Self {
        self.0.extend_from_slice(v);
        self
    }
}

/// A classic 32-bit field, or the marker sending readers to the ZIP64 extra
/// field (where `value` is then pushed).
fn field32(value: u64, zip64: &mut Vec<u64>) -> u32 {
    if value >= MAX32 {
        zip64.push(value);
        MAX32 as u32
    } else {
        value as u32
    }
}

fn zip64_extra(values: &[u64]) -> Vec<u8> {
    if values.is_empty() {
        return Vec::new();
    }
    let mut extra = Record::default();
    extra.u16(ZIP64_EXTRA).u16(8 * values.len() as u16);
    for v in values {
        extra.u64(*v);
    }
    extra.0
}

/// A zip being written entry by entry.
pub struct ZipWriter<W: Write> {
    out: W,
    written: u64,
    central: BufWriter<File>,
    central_len: u64,
    entries: u64,
}

impl<W: Write> ZipWriter<W> {
    pub fn new(out: W) -> std::io::Result<Self> {
        Ok(ZipWriter {
            out,
            written: 0,
            central: BufWriter::new(tempfile::tempfile()?),
            central_len: 0,
            entries: 0,
        })
    }

    /// Writes `entry`'s local header, then its `compressed` bytes from `data`.
    pub fn add(&mut self, entry: &Entry, data: &mut dyn Read) -> std::io::Result<()> {
        let offset = self.written;
        let name = entry.name.as_bytes();
        let flags = if entry.name.is_ascii() { 0 } else { UTF8_NAME };
        let large = entry.size >= MAX32 || entry.compressed >= MAX32;
        let needed = if large { V45 } else { V20 };

        // The local header's ZIP64 field holds both sizes when either is large.
        let (local_sizes, local_extra) = if large {
            (
                [MAX32 as u32; 2],
                zip64_extra(&[entry.size, entry.compressed]),
            )
        } else {
            ([entry.compressed as u32, entry.size as u32], Vec::new())
        };
        let mut local = Record::default();
        local
            .u32(LOCAL_HEADER)
            .u16(needed)
            .u16(flags)
            .u16(entry.method.code())
            .u16(0)
            .u16(DOS_DATE_1980)
            .u32(entry.crc)
            .u32(local_sizes[0])
            .u32(local_sizes[1])
            .u16(name.len() as u16)
            .u16(local_extra.len() as u16)
            .bytes(name)
            .bytes(&local_extra);
        self.out.write_all(&local.0)?;
        let copied = std::io::copy(data, &mut self.out)?;
        if copied != entry.compressed {
            return Err(std::io::Error::other(format!(
                "{}: {copied} bytes where {} were expected",
                entry.name, entry.compressed
            )));
        }
        self.written += local.0.len() as u64 + copied;

        // The central header's ZIP64 field holds only what overflowed, in
        // this order: size, compressed size, offset.
        let mut zip64 = Vec::new();
        let size = field32(entry.size, &mut zip64);
        let compressed = field32(entry.compressed, &mut zip64);
        let at = field32(offset, &mut zip64);
        let extra = zip64_extra(&zip64);
        let needed = if zip64.is_empty() { needed } else { V45 };
        let mut central = Record::default();
        central
            .u32(CENTRAL_HEADER)
            .u16(UNIX | needed)
            .u16(needed)
            .u16(flags)
            .u16(entry.method.code())
            .u16(0)
            .u16(DOS_DATE_1980)
            .u32(entry.crc)
            .u32(compressed)
            .u32(size)
            .u16(name.len() as u16)
            .u16(extra.len() as u16)
            .u16(0)
            .u16(0)
            .u16(0)
            .u32(entry.mode << 16)
            .u32(at)
            .bytes(name)
            .bytes(&extra);
        self.central.write_all(&central.0)?;
        self.central_len += central.0.len() as u64;
        self.entries += 1;
        Ok(())
    }

    /// Appends the central directory and the end records; returns how many
    /// entries the zip holds.
    pub fn finish(mut self) -> std::io::Result<usize> {
        let start = self.written;
        let mut central = self.central.into_inner().map_err(|e| e.into_error())?;
        central.rewind()?;
        std::io::copy(&mut central, &mut self.out)?;
        let (count, len) = (self.entries, self.central_len);
        let end_at = start + len;
        let mut end = Record::default();
        if count >= MAX16 || start >= MAX32 || len >= MAX32 {
            end.u32(ZIP64_END)
                .u64(44)
                .u16(UNIX | V45)
                .u16(V45)
                .u32(0)
                .u32(0)
                .u64(count)
                .u64(count)
                .u64(len)
                .u64(start)
                .u32(ZIP64_LOCATOR)
                .u32(0)
                .u64(end_at)
                .u32(1);
        }
        let count16 = count.min(MAX16) as u16;
        end.u32(END)
            .u16(0)
            .u16(0)
            .u16(count16)
            .u16(count16)
            .u32(len.min(MAX32) as u32)
            .u32(start.min(MAX32) as u32)
            .u16(0);
        self.out.write_all(&end.0)?;
        self.out.flush()?;
        Ok(count as usize)
    }
}
