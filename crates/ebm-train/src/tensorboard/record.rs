//! TFRecord framing, the container of an event file: each record is
//!
//! ```text
//! u64 length (little endian) | u32 masked CRC-32C of those 8 bytes | data | u32 masked CRC-32C of data
//! ```
//!
//! with the mask TensorFlow applies to every stored CRC, `((crc >> 15) | (crc << 17)) + 0xa282ead8`.
//! The reader checks both CRCs, so a damaged file is an error rather than garbage.

use std::io::{self, Read, Write};

const MASK_DELTA: u32 = 0xa282_ead8;

/// TensorFlow's masked CRC-32C (Castagnoli) of `bytes`.
pub fn masked_crc(bytes: &[u8]) -> u32 {
    let crc = crc32c::crc32c(bytes);
    crc.rotate_right(15).wrapping_add(MASK_DELTA)
}

/// `data` framed as one record.
pub fn encode(data: &[u8]) -> Vec<u8> {
    let len = (data.len() as u64).to_le_bytes();
    let mut out = Vec::with_capacity(data.len() + 16);
    out.extend_from_slice(&len);
    out.extend_from_slice(&masked_crc(&len).to_le_bytes());
    out.extend_from_slice(data);
    out.extend_from_slice(&masked_crc(data).to_le_bytes());
    out
}

/// Writes `data` as one record.
pub fn write(out: &mut impl Write, data: &[u8]) -> io::Result<()> {
    out.write_all(&encode(data))
}

fn invalid(message: String) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, message)
}

/// The records of a TFRecord stream, in order. Yields an error (and then stops) for a record cut
/// short or one whose length or data CRC does not match; a stream that ends between records ends
/// the iteration.
pub struct RecordReader<R> {
    inner: R,
    /// Byte offset of the next record (for error messages).
    offset: u64,
    done: bool,
}

impl<R: Read> RecordReader<R> {
    pub fn new(inner: R) -> Self {
        RecordReader {
            inner,
            offset: 0,
            done: false,
        }
    }

    fn next_record(&mut self) -> io::Result<Option<Vec<u8>>> {
        let mut header = [0u8; 12];
        let got = read_full(&mut self.inner, &mut header)?;
        if got == 0 {
            return Ok(None);
        }
        let at = self.offset;
        if got < header.len() {
            return Err(invalid(format!(
                "record at byte {at} is cut short in its header"
            )));
        }
        let (len, len_crc) = header.split_at(8);
        let len_bytes: [u8; 8] = len.try_into().expect("8 bytes");
        let stored = u32::from_le_bytes(len_crc.try_into().expect("4 bytes"));
        if masked_crc(&len_bytes) != stored {
            return Err(invalid(format!(
                "record at byte {at}: the CRC of its length does not match"
            )));
        }
        let len = u64::from_le_bytes(len_bytes);
        let len = usize::try_from(len)
            .map_err(|_| invalid(format!("record at byte {at}: length {len} is too large")))?;
        // Read through `take` rather than allocating `len` up front: a file cut short fails at
        // its real end instead of on a huge allocation.
        let mut data = Vec::new();
        (&mut self.inner).take(len as u64).read_to_end(&mut data)?;
        let mut crc = [0u8; 4];
        if data.len() < len || read_full(&mut self.inner, &mut crc)? < crc.len() {
            return Err(invalid(format!(
                "record at byte {at} is cut short ({len} bytes of data announced)"
            )));
        }
        if masked_crc(&data) != u32::from_le_bytes(crc) {
            return Err(invalid(format!(
                "record at byte {at}: the CRC of its data does not match"
            )));
        }
        self.offset += 16 + len as u64;
        Ok(Some(data))
    }
}

impl<R: Read> Iterator for RecordReader<R> {
    type Item = io::Result<Vec<u8>>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        let next = self.next_record().transpose();
        if !matches!(next, Some(Ok(_))) {
            self.done = true;
        }
        next
    }
}

/// Reads until `buf` is full or the stream ends; returns how many bytes were read.
fn read_full(r: &mut impl Read, buf: &mut [u8]) -> io::Result<usize> {
    let mut got = 0;
    while got < buf.len() {
        match r.read(&mut buf[got..]) {
            Ok(0) => break,
            Ok(n) => got += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(got)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masked_crc_matches_tensorflow() {
        // CRC-32C("123456789") = 0xe3069283 (the standard check value); masked as TensorFlow's
        // crc32c::Mask does, ((crc >> 15) | (crc << 17)) + 0xa282ead8 = 0xc78ab0e5.
        assert_eq!(crc32c::crc32c(b"123456789"), 0xe306_9283);
        assert_eq!(masked_crc(b"123456789"), 0xc78a_b0e5);
    }

    #[test]
    fn records_round_trip_and_damage_is_an_error() {
        let mut buf = Vec::new();
        for data in [&b"first"[..], b"", b"third record"] {
            write(&mut buf, data).unwrap();
        }
        let back: Vec<Vec<u8>> = RecordReader::new(&buf[..])
            .collect::<io::Result<_>>()
            .unwrap();
        assert_eq!(
            back,
            vec![b"first".to_vec(), vec![], b"third record".to_vec()]
        );

        // One flipped bit in every position of the first record: its length CRC, its length, its
        // data or its data CRC no longer matches.
        for i in 0..21 {
            let mut bad = buf.clone();
            bad[i] ^= 0x10;
            let first = RecordReader::new(&bad[..]).next().unwrap();
            assert!(first.is_err(), "flipped byte {i} went unnoticed");
        }
        // Cut short: the complete records before the cut are read, then an error, then nothing.
        let cut = &buf[..buf.len() - 3];
        let mut reader = RecordReader::new(cut);
        assert_eq!(reader.next().unwrap().unwrap(), b"first");
        assert_eq!(reader.next().unwrap().unwrap(), b"");
        let e = reader.next().unwrap().unwrap_err();
        assert!(e.to_string().contains("cut short"), "{e}");
        assert!(reader.next().is_none());
    }
}
